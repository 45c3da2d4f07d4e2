package pwpolicy

import (
	"encoding/json"

	"github.com/gatehouse-id/gatehouse/internal/store"
)

// DefaultSymbolCharset is Authentik's default symbol_charset: ASCII
// punctuation and the space.
const DefaultSymbolCharset = "!\\\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~ "

// Config is a password policy. The JSON names are Authentik's
// (authentik_policies_password.passwordpolicy), so blueprints and API
// payloads carry over; CheckCommonPasswords is ours (see the package doc).
type Config struct {
	PasswordField        string `json:"password_field"`
	CheckStaticRules     bool   `json:"check_static_rules"`
	CheckZxcvbn          bool   `json:"check_zxcvbn"`
	ZxcvbnScoreThreshold int    `json:"zxcvbn_score_threshold"`
	CheckCommonPasswords bool   `json:"check_common_passwords"`
	LengthMin            int    `json:"length_min"`
	AmountDigits         int    `json:"amount_digits"`
	AmountUppercase      int    `json:"amount_uppercase"`
	AmountLowercase      int    `json:"amount_lowercase"`
	AmountSymbols        int    `json:"amount_symbols"`
	SymbolCharset        string `json:"symbol_charset"`
	ErrorMessage         string `json:"error_message"`
}

// DefaultConfig is Authentik's default PasswordPolicy: static rules on
// (all counts zero), zxcvbn off with threshold 2, symbols from
// DefaultSymbolCharset. Decode a payload over it so absent fields keep
// their defaults.
func DefaultConfig() Config {
	return Config{
		PasswordField:        "password",
		CheckStaticRules:     true,
		ZxcvbnScoreThreshold: 2,
		SymbolCharset:        DefaultSymbolCharset,
	}
}

// UnmarshalJSON decodes over the receiver's current values and also
// accepts Authentik's check_have_i_been_pwned: a blueprint that asked for
// the online breach check gets the offline common-password check instead
// (unless it sets check_common_passwords itself). hibp_allowed_count is
// accepted and ignored: the bundled list has no counts.
func (c *Config) UnmarshalJSON(data []byte) error {
	type plain Config
	if err := json.Unmarshal(data, (*plain)(c)); err != nil {
		return err
	}
	var extra struct {
		HIBP   *bool `json:"check_have_i_been_pwned"`
		Common *bool `json:"check_common_passwords"`
	}
	if err := json.Unmarshal(data, &extra); err != nil {
		return err
	}
	if extra.HIBP != nil && extra.Common == nil {
		c.CheckCommonPasswords = *extra.HIBP
	}
	return nil
}

// MaxLength bounds length_min and the amount_* counts: no password stage
// accepts more than 1024 bytes, so a larger requirement could never pass.
const MaxLength = 1024

// Validate reports every invalid field at once, named by its JSON name, as
// a *store.ValidationError (errors.Is(err, store.ErrInvalid)).
func (c *Config) Validate() error {
	v := &store.ValidationError{}
	if c.PasswordField == "" {
		v.Add("password_field", "must not be empty")
	}
	for _, f := range []struct {
		name string
		n    int
	}{
		{"length_min", c.LengthMin},
		{"amount_digits", c.AmountDigits},
		{"amount_uppercase", c.AmountUppercase},
		{"amount_lowercase", c.AmountLowercase},
		{"amount_symbols", c.AmountSymbols},
	} {
		switch {
		case f.n < 0:
			v.Add(f.name, "must not be negative, got %d", f.n)
		case f.n > MaxLength:
			v.Add(f.name, "must be at most %d, got %d", MaxLength, f.n)
		}
	}
	if sum := c.AmountDigits + c.AmountUppercase + c.AmountLowercase + c.AmountSymbols; sum > MaxLength {
		v.Add("amount_digits", "the amount_* counts add up to %d; no password of at most %d characters can meet them", sum, MaxLength)
	}
	if c.AmountSymbols > 0 && c.SymbolCharset == "" {
		v.Add("symbol_charset", "must not be empty when amount_symbols is %d", c.AmountSymbols)
	}
	if c.ZxcvbnScoreThreshold < 0 || c.ZxcvbnScoreThreshold > 4 {
		v.Add("zxcvbn_score_threshold", "must be between 0 and 4, got %d", c.ZxcvbnScoreThreshold)
	}
	return v.Err()
}
