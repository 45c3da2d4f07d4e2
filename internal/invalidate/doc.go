// Package invalidate tells the caches of every replica that something they
// hold changed, so an admin's edit (a client deactivated, a secret rotated,
// a key retired) takes effect everywhere within a second rather than when
// each replica's cache entry expires.
//
// A writer publishes a topic (the kind of thing that changed) and the
// tenant it changed in; each cache subscribes to the topics it holds and
// drops what it has of that tenant. Publish follows a committed write;
// PublishTx joins the write's transaction, so a write that rolls back
// announces nothing. Delivery in this process happens right after the
// commit, before Publish returns, so the writer's next request already
// sees its change.
//
// On PostgreSQL, an announcement is also a NOTIFY (pg_notify, in the
// write's transaction when there is one), and Listen holds one dedicated
// connection that LISTENs and hands other replicas' announcements to the
// subscribers. Notifications sent while that connection is down are lost,
// so every (re)connection first drops every cache of every tenant; the
// caches keep their TTLs as the fallback for whatever this cannot cover
// (a replica that stays cut off, a write made by hand in SQL). On SQLite,
// one process owns the database and delivery in this process is all there
// is (a CLI command run beside the server reaches it through the TTLs).
//
// Dependencies, and why: github.com/jackc/pgx/v5, the PostgreSQL driver
// the store already uses. database/sql has no way to wait for the
// asynchronous messages a LISTEN produces, so the listener takes a
// connection of its own outside the pool with pgx.Connect and blocks in
// Conn.WaitForNotification. github.com/jackc/pgxlisten packages the same
// loop, but is another module for some forty lines, and we need its
// reconnect behaviour to be exactly ours: drop everything on every
// reconnection, and notice a silently dead connection with a ping.
package invalidate
