package sqlstore

import "testing"

func TestConflictField(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"constraint failed: UNIQUE constraint failed: tokens.tenant_id, tokens.identifier (2067)", "identifier"},
		{"constraint failed: UNIQUE constraint failed: index 'users_username' (2067)", "username"},
		{"users_username", "username"}, {"flows_slug", "slug"}, {"tenant_domains_pkey", "domain"},
		{"constraint failed: UNIQUE constraint failed: tokens.key_hash (2067)", "key"},
	} {
		if g := conflictField(c.in); g != c.want {
			t.Errorf("%s: got %q want %q", c.in, g, c.want)
		}
	}
}
