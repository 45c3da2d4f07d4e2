package session

// Cookie is a cookie to send the client, described without a transport:
// the session cookie Save returns, or another package's (the flow's
// known-device cookie). The HTTP front ends write it (sessionhttp); a
// front end without cookies has nothing to write.
type Cookie struct {
	Name, Value, Path, Domain string
	// MaxAge is the lifetime in seconds: 0 for a cookie that ends with the
	// browser session, negative to delete the cookie.
	MaxAge           int
	HTTPOnly, Secure bool
	SameSite         SameSite
}

// SameSite is a cookie's SameSite attribute.
type SameSite int

// The SameSite modes in use.
const (
	SameSiteLax SameSite = iota
	SameSiteStrict
)
