package pwpolicy

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/gatehouse-id/gatehouse/internal/store"
)

func TestDefaultConfigIsAuthentiks(t *testing.T) {
	got := DefaultConfig()
	want := Config{PasswordField: "password", CheckStaticRules: true, ZxcvbnScoreThreshold: 2,
		SymbolCharset: "!\\\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~ "}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("DefaultConfig() = %+v, want %+v", got, want)
	}
	if err := got.Validate(); err != nil {
		t.Errorf("DefaultConfig().Validate() = %v, want nil", err)
	}
}

func TestDecodeKeepsDefaultsAndReadsAuthentikNames(t *testing.T) {
	// An Authentik API payload for a policy, as exported.
	payload := `{"name": "default-password-change-password-policy", "password_field": "password",
		"amount_digits": 1, "amount_uppercase": 1, "amount_lowercase": 1, "amount_symbols": 1,
		"length_min": 8, "check_zxcvbn": true, "zxcvbn_score_threshold": 2,
		"error_message": "Use a stronger password.", "check_have_i_been_pwned": true, "hibp_allowed_count": 0}`
	c := DefaultConfig()
	if err := json.Unmarshal([]byte(payload), &c); err != nil {
		t.Fatalf("Unmarshal: %v", err)
	}
	want := Config{PasswordField: "password", CheckStaticRules: true, CheckZxcvbn: true, ZxcvbnScoreThreshold: 2,
		CheckCommonPasswords: true, LengthMin: 8, AmountDigits: 1, AmountUppercase: 1, AmountLowercase: 1,
		AmountSymbols: 1, SymbolCharset: DefaultSymbolCharset, ErrorMessage: "Use a stronger password."}
	if !reflect.DeepEqual(c, want) {
		t.Errorf("decoded %+v\nwant    %+v", c, want)
	}
}

func TestCheckCommonPasswordsWinsOverHIBP(t *testing.T) {
	for _, tc := range []struct {
		payload string
		want    bool
	}{
		{`{}`, false},
		{`{"check_have_i_been_pwned": true}`, true},
		{`{"check_have_i_been_pwned": false}`, false},
		{`{"check_have_i_been_pwned": true, "check_common_passwords": false}`, false},
		{`{"check_have_i_been_pwned": false, "check_common_passwords": true}`, true},
	} {
		c := DefaultConfig()
		if err := json.Unmarshal([]byte(tc.payload), &c); err != nil {
			t.Fatalf("%s: %v", tc.payload, err)
		}
		if c.CheckCommonPasswords != tc.want {
			t.Errorf("%s: CheckCommonPasswords = %v, want %v", tc.payload, c.CheckCommonPasswords, tc.want)
		}
	}
}

func TestValidateReportsEveryField(t *testing.T) {
	for _, tc := range []struct {
		name   string
		edit   func(*Config)
		fields []string
	}{
		{"defaults", func(*Config) {}, nil},
		{"threshold 4 is allowed, as in Authentik", func(c *Config) { c.ZxcvbnScoreThreshold = 4 }, nil},
		{"negative counts", func(c *Config) { c.LengthMin, c.AmountDigits, c.AmountSymbols = -1, -2, -3 },
			[]string{"length_min", "amount_digits", "amount_symbols"}},
		{"threshold above 4", func(c *Config) { c.ZxcvbnScoreThreshold = 5 }, []string{"zxcvbn_score_threshold"}},
		{"threshold below 0", func(c *Config) { c.ZxcvbnScoreThreshold = -1 }, []string{"zxcvbn_score_threshold"}},
		{"empty field name", func(c *Config) { c.PasswordField = "" }, []string{"password_field"}},
		{"symbols without charset", func(c *Config) { c.AmountSymbols, c.SymbolCharset = 1, "" }, []string{"symbol_charset"}},
		{"no symbols, no charset needed", func(c *Config) { c.SymbolCharset = "" }, nil},
		{"length beyond any password", func(c *Config) { c.LengthMin = 5000 }, []string{"length_min"}},
		{"counts adding up beyond any password", func(c *Config) { c.AmountLowercase, c.AmountUppercase = 600, 600 },
			[]string{"amount_digits"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := DefaultConfig()
			tc.edit(&c)
			err := c.Validate()
			var got []string
			if err != nil {
				var ve *store.ValidationError
				if !errors.As(err, &ve) || !errors.Is(err, store.ErrInvalid) {
					t.Fatalf("Validate() = %T %v, want a *store.ValidationError", err, err)
				}
				for _, f := range ve.Fields {
					got = append(got, f.Field)
				}
			}
			if strings.Join(got, ",") != strings.Join(tc.fields, ",") {
				t.Errorf("invalid fields = %v, want %v (error: %v)", got, tc.fields, err)
			}
		})
	}
}

func TestDecodeTypeErrorNamesTheField(t *testing.T) {
	c := DefaultConfig()
	err := json.Unmarshal([]byte(`{"length_min": "eight"}`), &c)
	var te *json.UnmarshalTypeError
	if !errors.As(err, &te) || te.Field != "length_min" {
		t.Errorf("Unmarshal of a string length_min = %v, want an UnmarshalTypeError on length_min", err)
	}
}
