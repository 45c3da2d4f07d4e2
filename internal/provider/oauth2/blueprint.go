package oauth2

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"maps"
	"slices"
	"strings"

	"github.com/google/uuid"

	"github.com/gatehouse-id/gatehouse/internal/blueprint"
	"github.com/gatehouse-id/gatehouse/internal/crypto"
	"github.com/gatehouse-id/gatehouse/internal/provider"
	"github.com/gatehouse-id/gatehouse/internal/store"
)

// BlueprintModel is the Authentik model name of OAuth2 providers.
const BlueprintModel = "authentik_providers_oauth2.oauth2provider"

// RegisterBlueprint adds the provider model to r.
func (s *Service) RegisterBlueprint(r *blueprint.Registry) {
	r.Register(BlueprintModel, providerModel{})
}

// providerModel is authentik_providers_oauth2.oauth2provider, written
// through the domain layer (CoreKind). A new
// provider gets what `gatehouse app create` gives (the default flows and
// the managed scope mappings) except the signing key: Authentik leaves
// signing_key null, which signs ID tokens with HS256 and the client secret.
type providerModel struct{}

// configFields are the settings a blueprint may give: Config's JSON names,
// which are Authentik's, read from the struct so that a setting added to
// Config is accepted here without a second list to keep in step.
var configFields = provider.SettingNames(Config{})

// ownFields are the provider's columns; the other fields are its settings.
var ownFields = []string{"name", "client_id", "client_secret"}

var providerFields = append(slices.Clone(ownFields), configFields...)

// providerUnsupported are Authentik fields an export may carry empty:
// token encryption and JWT federation are not implemented. One that Config
// gains becomes a setting like the others.
var providerUnsupported = slices.DeleteFunc(
	[]string{"encryption_key", "jwks_sources", "jwt_federation_sources", "jwt_federation_providers"},
	func(f string) bool { return slices.Contains(configFields, f) })

// redirectKeys are the keys of one redirect_uris item.
var redirectKeys = []string{"matching_mode", "url", "redirect_uri_type"}

func (providerModel) Find(ctx context.Context, tx *blueprint.Tx, by blueprint.Values) (uuid.UUID, bool, error) {
	if err := by.Check("pk", "name", "client_id"); err != nil {
		return uuid.Nil, false, err
	}
	providers := tx.Scope.Providers()
	var p *store.Provider
	var err error
	if x, has := by["pk"]; has {
		// Authentik's provider pks are numbers; an export's pk names
		// nothing here, and the other identifiers are tried.
		id, ok := parsePK(x)
		if !ok {
			return uuid.Nil, false, nil
		}
		p, err = providers.Get(ctx, id)
	} else if key := firstKey(by, "name", "client_id"); key != "" {
		s, _, serr := by.String(key)
		if serr != nil || s == "" {
			return uuid.Nil, false, serr
		}
		if key == "name" {
			p, err = providers.GetByName(ctx, s)
		} else {
			p, err = providers.GetByClientID(ctx, s)
		}
	} else {
		return uuid.Nil, false, errors.New("OAuth2 providers are looked up by name, client_id or pk")
	}
	if errors.Is(err, store.ErrNotFound) {
		return uuid.Nil, false, nil
	}
	if err != nil || p.Kind != Kind {
		return uuid.Nil, false, err
	}
	return p.ID, by.Matches(map[string]any{"pk": p.ID, "name": p.Name, "client_id": p.ClientID}), nil
}

func firstKey(v blueprint.Values, keys ...string) string {
	for _, k := range keys {
		if _, ok := v[k]; ok {
			return k
		}
	}
	return ""
}

func parsePK(x any) (uuid.UUID, bool) {
	switch id := x.(type) {
	case uuid.UUID:
		return id, true
	case string:
		u, err := uuid.Parse(id)
		return u, err == nil
	}
	return uuid.Nil, false
}

func (m providerModel) Create(ctx context.Context, tx *blueprint.Tx, v blueprint.Values) (uuid.UUID, error) {
	d, err := LoadTenantDefaults(ctx, tx.Scope, uuid.Nil)
	if err != nil {
		return uuid.Nil, err
	}
	cfg := map[string]any{"authorization_flow": d.AuthorizationFlow, "invalidation_flow": d.InvalidationFlow,
		"property_mappings": d.Mappings}
	p := &store.Provider{ID: uuid.Must(uuid.NewV7()), Kind: Kind}
	if err := m.build(ctx, tx, p, cfg, v); err != nil {
		return uuid.Nil, err
	}
	err = tx.Core().As(tx.Actor()).CreateProvider(ctx, tx.Scope, CoreKind, p)
	return p.ID, err
}

func (m providerModel) Update(ctx context.Context, tx *blueprint.Tx, id uuid.UUID, v blueprint.Values) (bool, error) {
	cur, err := tx.Scope.Providers().Get(ctx, id)
	if err != nil {
		return false, err
	}
	if cur.Kind != Kind {
		return false, store.Invalid("name", "%q is a %s provider, not an OAuth2 provider", cur.Name, cur.Kind)
	}
	cfg := map[string]any{}
	if len(cur.Config) > 0 {
		d := json.NewDecoder(bytes.NewReader(cur.Config))
		d.UseNumber()
		if err := d.Decode(&cfg); err != nil {
			return false, err
		}
	}
	next := *cur
	if err := m.build(ctx, tx, &next, cfg, v); err != nil {
		return false, err
	}
	if next.Name == cur.Name && next.ClientID == cur.ClientID && next.SecretEnc == cur.SecretEnc &&
		bytes.Equal(normalizeConfig(cur.Config), next.Config) {
		return false, nil
	}
	_, err = tx.Core().As(tx.Actor()).UpdateProvider(ctx, tx.Scope, CoreKind, id, cur.Version, func(_ store.Scope, p *store.Provider) error {
		p.Name, p.ClientID, p.SecretEnc, p.Config = next.Name, next.ClientID, next.SecretEnc, next.Config
		return nil
	})
	return err == nil, err
}

func (providerModel) Delete(ctx context.Context, tx *blueprint.Tx, id uuid.UUID) error {
	return tx.Core().As(tx.Actor()).DeleteProvider(ctx, tx.Scope, CoreKind, id)
}

// DomainWrites: the domain layer records this model's events.
func (providerModel) DomainWrites() {}

// normalizeConfig is stored settings as build writes them, so settings
// stored by other means (`gatehouse app create`, older versions) compare
// equal when they mean the same; nil if they do not parse.
func normalizeConfig(raw json.RawMessage) []byte {
	c, err := ParseConfig(raw)
	if err != nil {
		return nil
	}
	out, _ := json.Marshal(c)
	return out
}

// build lays the entry v over the provider p, whose settings are cfg
// (JSON fields, changed in place), checks the result as the token endpoint
// will read it, and reports every problem at once.
func (providerModel) build(ctx context.Context, tx *blueprint.Tx, p *store.Provider, cfg map[string]any, v blueprint.Values) error {
	v, err := v.Unsupported(providerUnsupported...)
	if err != nil {
		return err
	}
	if err := v.Check(providerFields...); err != nil {
		return err
	}
	errs := &store.ValidationError{}
	note := func(err error) error {
		var ve *store.ValidationError
		if errors.As(err, &ve) {
			errs.Fields = append(errs.Fields, ve.Fields...)
			return nil
		}
		return err
	}
	if name, given, err := v.String("name"); given && err == nil {
		p.Name = strings.TrimSpace(name)
	} else if err := note(err); err != nil {
		return err
	}
	if err := note(setClientID(ctx, tx, p, v)); err != nil {
		return err
	}
	if err := note(checkName(ctx, tx, p)); err != nil {
		return err
	}
	if p.Name == "" {
		errs.Add("name", "is required")
	}
	for _, k := range slices.Sorted(maps.Keys(v)) {
		if slices.Contains(ownFields, k) {
			continue
		}
		// A null setting is unset: ParseConfig gives it its default.
		val, err := setting(ctx, tx, v, k)
		if err != nil {
			if err := note(err); err != nil {
				return err
			}
			continue
		}
		cfg[k] = val
	}
	raw, err := json.Marshal(cfg)
	if err != nil {
		return note(store.Invalid("attrs", "cannot be stored as JSON: %v", err))
	}
	c, err := ParseConfig(raw)
	if err := note(err); err != nil {
		return err
	}
	if c != nil && c.AuthorizationFlow == "" {
		errs.Add("authorization_flow", "is required (there is no %s flow to default to)", provider.DefaultAuthorizationFlow)
	}
	if err := errs.Err(); err != nil {
		return err
	}
	if p.Config, err = json.Marshal(c); err != nil {
		return err
	}
	return sealSecret(tx, p, c, v)
}

// setting converts one entry field into its JSON setting: references are
// checked to name objects of this tenant, and ParseConfig checks the rest.
func setting(ctx context.Context, tx *blueprint.Tx, v blueprint.Values, key string) (any, error) {
	switch key {
	case "authorization_flow", "invalidation_flow", "authentication_flow":
		return ref(v, key, "flow", func(id uuid.UUID) error {
			_, err := tx.Scope.Flows().Get(ctx, id)
			return err
		})
	case "signing_key":
		return ref(v, key, "certificate key pair", func(id uuid.UUID) error {
			k, err := tx.Scope.CertificateKeyPairs().Get(ctx, id)
			if err == nil && k.KeyEnc == "" {
				return store.Invalid(key, "%q is a certificate without a private key; it cannot sign tokens", k.Name)
			}
			return err
		})
	case "property_mappings":
		return mappingRefs(ctx, tx, v)
	case "redirect_uris":
		return redirectURIs(v[key])
	}
	return v[key], nil
}

// ref reads a reference. Null unsets it, except the authorization flow,
// which every provider needs: a !Find that matched nothing gives null, and
// that must not pass unnoticed.
func ref(v blueprint.Values, key, what string, get func(uuid.UUID) error) (any, error) {
	id, _, err := v.UUID(key)
	switch {
	case err != nil:
		return nil, err
	case !id.Valid && key == "authorization_flow":
		return nil, store.Invalid(key, "is required (null, or a !Find that matched nothing)")
	case !id.Valid:
		return "", nil
	}
	if err := get(id.UUID); errors.Is(err, store.ErrNotFound) {
		return nil, store.Invalid(key, "no %s with ID %s exists", what, id.UUID)
	} else if err != nil {
		return nil, err
	}
	return id.UUID.String(), nil
}

// mappingRefs reads property_mappings: the scope mappings whose claims the
// provider issues. Null is none.
func mappingRefs(ctx context.Context, tx *blueprint.Tx, v blueprint.Values) (any, error) {
	const key = "property_mappings"
	list, _, err := v.List(key)
	if err != nil {
		return nil, err
	}
	out := []string{}
	for _, x := range list {
		id, _, err := blueprint.Values{key: x}.UUID(key)
		if err != nil || !id.Valid {
			return nil, store.Invalid(key, "must list scope mapping IDs (use !KeyOf or !Find; a !Find that matched nothing gives null)")
		}
		o, err := tx.Scope.PropertyMappings().Get(ctx, id.UUID)
		if errors.Is(err, store.ErrNotFound) || (err == nil && o.Kind != MappingKind) {
			return nil, store.Invalid(key, "no scope mapping with ID %s exists", id.UUID)
		} else if err != nil {
			return nil, err
		}
		if !slices.Contains(out, id.UUID.String()) {
			out = append(out, id.UUID.String())
		}
	}
	return out, nil
}

// redirectURIs reads redirect_uris as current Authentik versions write
// them, a list of {matching_mode, url}, or as older ones did, one a line.
// Those lines were regular expressions there; here each is an exact URL,
// so that "https://app.example.com/cb" does not also admit "https://appXexample.com/cb".
func redirectURIs(x any) (any, error) {
	const key = "redirect_uris"
	out := []RedirectURI{}
	switch r := x.(type) {
	case nil:
	case string:
		for line := range strings.Lines(r) {
			line = strings.TrimSpace(line)
			switch line {
			case "":
			case "*", ".*":
				// Older Authentik versions matched any URL with this:
				// anyone could then receive a user's authorization code.
				return nil, store.Invalid(key, "%q would accept any URL; list the URLs, or give a pattern as {matching_mode: regex, url: ...}", line)
			default:
				out = append(out, RedirectURI{MatchingMode: "strict", URL: line})
			}
		}
	case []any:
		for i, item := range r {
			m, ok := item.(map[string]any)
			if !ok {
				return nil, store.Invalid(key, "item %d must be a mapping {matching_mode: strict, url: ...}", i)
			}
			var u RedirectURI
			dst := map[string]*string{"matching_mode": &u.MatchingMode, "url": &u.URL, "redirect_uri_type": &u.Type}
			for _, k := range slices.Sorted(maps.Keys(m)) {
				s, isString := m[k].(string)
				switch {
				case dst[k] == nil:
					return nil, store.Invalid(key, "item %d: %q is not supported (supported: %s)", i, k, strings.Join(redirectKeys, ", "))
				case !isString:
					return nil, store.Invalid(key, "item %d: %s must be a string", i, k)
				}
				*dst[k] = s
			}
			out = append(out, u)
		}
	default:
		return nil, store.Invalid(key, "must be a list of {matching_mode, url} (or a string of URLs, one a line)")
	}
	return out, nil
}

// setClientID takes the entry's client_id, or generates one for a new
// provider, and refuses one that another provider of the tenant uses.
func setClientID(ctx context.Context, tx *blueprint.Tx, p *store.Provider, v blueprint.Values) error {
	id, given, err := v.String("client_id")
	switch {
	case err != nil:
		return err
	case given && id == "":
		return store.Invalid("client_id", "must not be empty; leave it out to have one generated")
	case given:
		p.ClientID = id
	case p.ClientID == "":
		p.ClientID = crypto.Token(ClientIDLength)
	}
	other, err := tx.Scope.Providers().GetByClientID(ctx, p.ClientID)
	if err == nil && other.ID != p.ID {
		return store.Invalid("client_id", "is already used by provider %q", other.Name)
	}
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	return err
}

// checkName refuses a name another provider has (of any kind), which the
// store would report as a bare conflict.
func checkName(ctx context.Context, tx *blueprint.Tx, p *store.Provider) error {
	other, err := tx.Scope.Providers().GetByName(ctx, p.Name)
	if err == nil && other.ID != p.ID {
		return store.Invalid("name", "a %s provider named %q already exists", other.Kind, p.Name)
	}
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	return err
}

// sealSecret stores the entry's client_secret sealed, or generates one
// when the provider needs a secret and has none: confidential clients
// authenticate with it, and without a signing key it signs ID tokens (as
// in Authentik, where every provider has one). An unchanged secret is not
// sealed again, so re-applying writes nothing, and a secret is never
// regenerated by an update.
func sealSecret(tx *blueprint.Tx, p *store.Provider, c *Config, v blueprint.Values) error {
	secret, given, err := v.String("client_secret")
	switch {
	case err != nil:
		return err
	case given && (secret == "" || len(secret) > 255):
		return store.Invalid("client_secret", "must be 1 to 255 characters; leave it out to have one generated")
	case !given && (p.SecretEnc != "" || (c.Public() && c.SigningKey != "")):
		return nil
	case !given:
		secret = crypto.Token(ClientSecretLength)
	}
	box := tx.Box()
	if box == nil {
		return store.Invalid("client_secret", "cannot be stored: no secret box is configured to seal it")
	}
	aad := SecretAAD(tx.Scope.TenantID(), p.ID)
	if p.SecretEnc != "" {
		if cur, err := box.OpenString(p.SecretEnc, aad); err == nil && cur == secret {
			return nil
		}
	}
	p.SecretEnc = box.SealString(secret, aad)
	return nil
}
