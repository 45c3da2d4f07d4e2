package api

import (
	"context"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"net/http"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/gatehouse-id/gatehouse/internal/config"
	"github.com/gatehouse-id/gatehouse/internal/crypto/keys"
	"github.com/gatehouse-id/gatehouse/internal/store"
)

// CertificateKeyPair is Authentik's serializer plus the rotation fields.
// The private key is never part of it: only view_private_key/ shows it.
type CertificateKeyPair struct {
	PK                     uuid.UUID  `json:"pk"`
	Name                   string     `json:"name"`
	CertificateData        string     `json:"certificate_data" doc:"the certificate (PEM); public"`
	FingerprintSHA256      string     `json:"fingerprint_sha256"`
	FingerprintSHA1        string     `json:"fingerprint_sha1"`
	CertExpiry             *time.Time `json:"cert_expiry"`
	CertSubject            string     `json:"cert_subject"`
	PrivateKeyAvailable    bool       `json:"private_key_available"`
	KeyType                string     `json:"key_type" enum:"rsa,ec,ed25519"`
	KID                    string     `json:"kid" doc:"JWK key ID in JWKS and token headers"`
	Managed                *string    `json:"managed"`
	CertificateDownloadURL string     `json:"certificate_download_url"`
	PrivateKeyDownloadURL  string     `json:"private_key_download_url"`
	RotationSet            uuid.UUID  `json:"rotation_set" doc:"keys made by rotating each other share it; a provider naming any of them signs with the newest active one"`
	ActiveFrom             *time.Time `json:"active_from" doc:"signs from then on (null: since creation)"`
	RetiredAt              *time.Time `json:"retired_at" doc:"leaves JWKS then (null: never)"`
	version                int64
}

func (k CertificateKeyPair) Meta() Meta { return Meta{ID: k.PK, Name: k.Name, Version: k.version} }

// CertificateKeyPairRequest imports a certificate (and its key) on create;
// updates may only rename: other key material is a new key pair.
type CertificateKeyPairRequest struct {
	Name            *string `json:"name"`
	CertificateData *string `json:"certificate_data" doc:"PEM certificate"`
	KeyData         *string `json:"key_data" doc:"PEM private key (PKCS#8, PKCS#1 or SEC 1); write-only"`
}

// CertificateGenerationRequest is crypto/certificatekeypairs/generate/.
type CertificateGenerationRequest struct {
	CommonName   *string `json:"common_name"`
	ValidityDays *int    `json:"validity_days" doc:"default 365"`
	Alg          *string `json:"alg" enum:"rsa,ecdsa,ed25519" doc:"Authentik's name for key_type"`
	KeyType      *string `json:"key_type" enum:"rsa,ec,ed25519" doc:"rsa (default, 2048 bits), ec (P-256) or ed25519"`
}

// KeyRotationRequest is crypto/certificatekeypairs/{id}/rotate/.
type KeyRotationRequest struct {
	PublishAhead *string `json:"publish_ahead" doc:"how long JWKS shows the new key before it signs, e.g. hours=24 (default 0)"`
	Grace        *string `json:"grace" doc:"how long old keys stay in JWKS after the switch; at least the longest token lifetime (default hours=1)"`
}

// CertificateData is view_certificate/ and view_private_key/; with
// ?download it is sent as a PEM file instead, as in Authentik.
type CertificateData struct {
	Data     string `json:"data"`
	filename string
	download bool
}

func (d CertificateData) MediaType() string { return "application/x-pem-file" }

func (d CertificateData) File() (string, []byte, bool) { return d.filename, []byte(d.Data), d.download }

func keyPairOut(k *store.CertificateKeyPair) CertificateKeyPair {
	out := CertificateKeyPair{PK: k.ID, Name: k.Name, CertificateData: k.CertificatePEM, PrivateKeyAvailable: k.KeyEnc != "",
		KeyType: k.KeyType, KID: k.KID, RotationSet: k.SetID, ActiveFrom: timePtr(k.ActiveFrom), RetiredAt: timePtr(k.RetiredAt),
		CertificateDownloadURL: Prefix + "crypto/certificatekeypairs/" + k.ID.String() + "/view_certificate/?download",
		version:                k.Version}
	if k.Managed != "" {
		out.Managed = &k.Managed
	}
	if out.PrivateKeyAvailable {
		out.PrivateKeyDownloadURL = Prefix + "crypto/certificatekeypairs/" + k.ID.String() + "/view_private_key/?download"
	}
	if block, _ := pem.Decode([]byte(k.CertificatePEM)); block != nil {
		if cert, err := x509.ParseCertificate(block.Bytes); err == nil {
			s256, s1 := sha256.Sum256(cert.Raw), sha1.Sum(cert.Raw)
			out.FingerprintSHA256, out.FingerprintSHA1 = colonHex(s256[:]), colonHex(s1[:])
			out.CertExpiry, out.CertSubject = timePtr(cert.NotAfter), cert.Subject.String()
		}
	}
	return out
}

// colonHex is how Authentik (and openssl) print fingerprints.
func colonHex(b []byte) string {
	h := hex.EncodeToString(b)
	parts := make([]string, 0, len(b))
	for i := 0; i < len(h); i += 2 {
		parts = append(parts, h[i:i+2])
	}
	return strings.Join(parts, ":")
}

// RegisterCrypto adds crypto/certificatekeypairs/, whose keys m makes,
// imports, rotates and unseals.
func RegisterCrypto(a *API, m *keys.Manager) {
	const model = "authentik_crypto.certificatekeypair"
	get := func(ctx context.Context, c *Caller, id uuid.UUID) (CertificateKeyPair, error) {
		k, err := c.Scope.CertificateKeyPairs().Get(ctx, id)
		if err != nil {
			return CertificateKeyPair{}, err
		}
		return keyPairOut(k), nil
	}
	Register(a, Resource[CertificateKeyPair, CertificateKeyPairRequest]{
		Path: "crypto/certificatekeypairs/", Tag: "crypto", Model: model, Required: []string{"name", "certificate_data"},
		List: func(ctx context.Context, c *Caller, q Query) ([]CertificateKeyPair, int, error) {
			var out []CertificateKeyPair
			// The store pages by name only; key pairs are few, so search
			// filters the whole list.
			for p := 1; ; p++ {
				ks, total, err := c.Scope.CertificateKeyPairs().List(ctx, store.Page{Number: p, Size: store.MaxPageSize})
				if err != nil {
					return nil, 0, err
				}
				for _, k := range ks {
					if strings.Contains(strings.ToLower(k.Name), strings.ToLower(q.Search)) {
						out = append(out, keyPairOut(k))
					}
				}
				if p*store.MaxPageSize >= total || len(ks) == 0 {
					break
				}
			}
			return slicePage(out, q.Page), len(out), nil
		},
		Get: get,
		Create: func(ctx context.Context, c *Caller, in *CertificateKeyPairRequest) (CertificateKeyPair, error) {
			keyPEM := ""
			set(&keyPEM, in.KeyData)
			k, err := m.Import(ctx, c.Scope, *in.Name, *in.CertificateData, keyPEM)
			if err != nil {
				return CertificateKeyPair{}, err
			}
			return keyPairOut(k), nil
		},
		Update: func(ctx context.Context, c *Caller, id uuid.UUID, version int64, in *CertificateKeyPairRequest) (CertificateKeyPair, error) {
			var k *store.CertificateKeyPair
			// The edit and its announcement to every replica's key cache
			// commit together.
			err := c.Scope.Tx(ctx, func(tx store.Scope) error {
				var err error
				k, err = tx.CertificateKeyPairs().Update(ctx, id, func(k *store.CertificateKeyPair) error {
					if err := checkVersion(version, k.Version); err != nil {
						return err
					}
					// PUT repeats the certificate; only a different one is a change.
					if (in.CertificateData != nil && strings.TrimSpace(*in.CertificateData) != strings.TrimSpace(k.CertificatePEM)) ||
						in.KeyData != nil {
						return store.Invalid("certificate_data", "key material cannot change; import a new key pair (or rotate this one)")
					}
					set(&k.Name, in.Name)
					return nil
				})
				if err != nil {
					return err
				}
				return m.Changed(ctx, tx)
			})
			if err != nil {
				return CertificateKeyPair{}, err
			}
			return keyPairOut(k), nil
		},
		Delete: func(ctx context.Context, c *Caller, id uuid.UUID) error {
			k, err := c.Scope.CertificateKeyPairs().Get(ctx, id)
			if err != nil {
				return err
			}
			if k.Managed != "" {
				return Errorf(http.StatusBadRequest, "a managed key pair cannot be deleted: Gatehouse creates it again")
			}
			if err := lastSigner(ctx, c.Scope, k); err != nil {
				return err
			}
			return c.Scope.Tx(ctx, func(tx store.Scope) error {
				if err := tx.CertificateKeyPairs().Delete(ctx, id); err != nil {
					return err
				}
				return m.Changed(ctx, tx)
			})
		},
	})
	Action(a, http.MethodPost, "crypto/certificatekeypairs/generate/", "crypto", "crypto_certificatekeypairs_generate_create",
		"Generate a key pair with a self-signed certificate", perm(model, "add"), http.StatusOK,
		func(ctx context.Context, c *Caller, r *http.Request, in *CertificateGenerationRequest) (*CertificateKeyPair, error) {
			g, err := generation(in)
			if err != nil {
				return nil, err
			}
			k, err := m.Generate(ctx, c.Scope, g)
			if err != nil {
				return nil, err
			}
			out := keyPairOut(k)
			a.modelEvent(ctx, c, "model_created", model, out.Meta(), nil)
			return &out, nil
		})
	Action(a, http.MethodPost, "crypto/certificatekeypairs/{id}/rotate/", "crypto", "crypto_certificatekeypairs_rotate_create",
		"Add a new key to this key's rotation set; the old ones retire after the grace period", perm(model, "change"), http.StatusOK,
		func(ctx context.Context, c *Caller, r *http.Request, in *KeyRotationRequest) (*CertificateKeyPair, error) {
			id, err := pathID(r)
			if err != nil {
				return nil, err
			}
			d := map[string]time.Duration{}
			v := &store.ValidationError{}
			for field, s := range map[string]*string{"publish_ahead": in.PublishAhead, "grace": in.Grace} {
				raw := map[string]string{"publish_ahead": "0", "grace": "hours=1"}[field]
				set(&raw, s)
				if d[field], err = config.ParseDuration(raw); err != nil || d[field] < 0 {
					v.Add(field, "must be a duration such as hours=1 or 0")
				}
			}
			if err := v.Err(); err != nil {
				return nil, err
			}
			k, err := m.Rotate(ctx, c.Scope, id, d["publish_ahead"], d["grace"])
			if err != nil {
				return nil, err
			}
			out := keyPairOut(k)
			a.modelEvent(ctx, c, "model_created", model, out.Meta(), nil)
			return &out, nil
		})
	// Authentik's permissions for the two views (and its event types).
	for _, view := range []struct{ what, perm, summary string }{
		{"certificate", "authentik_crypto.view_certificatekeypair_certificate", "The certificate (PEM); ?download sends it as a file"},
		{"private_key", "authentik_crypto.view_certificatekeypair_key", "The private key (PEM), recorded as secret_view; ?download sends it as a file"},
	} {
		Action(a, http.MethodGet, "crypto/certificatekeypairs/{id}/view_"+view.what+"/", "crypto",
			"crypto_certificatekeypairs_view_"+view.what+"_retrieve", view.summary, view.perm, http.StatusOK, func(ctx context.Context, c *Caller, r *http.Request, _ *struct{}) (*CertificateData, error) {
				id, err := pathID(r)
				if err != nil {
					return nil, err
				}
				k, err := c.Scope.CertificateKeyPairs().Get(ctx, id)
				if err != nil {
					return nil, err
				}
				out := &CertificateData{Data: k.CertificatePEM, filename: k.Name + "_" + view.what + ".pem",
					download: r.URL.Query().Has("download")}
				if view.what == "private_key" {
					if k.KeyEnc == "" {
						return nil, Errorf(http.StatusNotFound, "this key pair has no private key")
					}
					if out.Data, err = m.PrivateKeyPEM(c.Scope, k); err != nil {
						return nil, err
					}
				}
				// Authentik records both views: a certificate names what
				// an admin looked at, a key is a secret.
				a.record(ctx, c.Scope, c.Event(&store.Event{Action: "secret_view", Context: map[string]any{
					"model": map[string]any{"app": "authentik_crypto", "model_name": "certificatekeypair", "pk": k.ID.String(),
						"name": k.Name}, "type": view.what}}))
				return out, nil
			})
	}
}

// generation checks generate/'s input.
func generation(in *CertificateGenerationRequest) (keys.Generate, error) {
	v := &store.ValidationError{}
	g := keys.Generate{Type: store.KeyTypeRSA, Validity: keys.DefaultValidity}
	if in.CommonName == nil || strings.TrimSpace(*in.CommonName) == "" {
		v.Add("common_name", "this field is required")
	} else {
		g.Name = strings.TrimSpace(*in.CommonName)
	}
	if in.ValidityDays != nil {
		if *in.ValidityDays < 1 || *in.ValidityDays > 100*365 {
			v.Add("validity_days", "must be 1 to 36500")
		}
		g.Validity = time.Duration(*in.ValidityDays) * 24 * time.Hour
	}
	alg := map[string]string{"rsa": store.KeyTypeRSA, "ecdsa": store.KeyTypeEC, "ed25519": store.KeyTypeEd25519}
	switch {
	case in.Alg != nil && in.KeyType != nil && alg[*in.Alg] != *in.KeyType:
		v.Add("alg", "contradicts key_type; give one of them")
	case in.Alg != nil:
		g.Type = alg[*in.Alg]
	case in.KeyType != nil:
		g.Type = *in.KeyType
	}
	return g, v.Err()
}

// lastSigner refuses to delete the last key that can sign for a provider
// naming k (directly or through its rotation set): its tokens would fail.
func lastSigner(ctx context.Context, sc store.Scope, k *store.CertificateKeyPair) error {
	set, err := sc.CertificateKeyPairs().ListSet(ctx, k.SetID)
	if err != nil {
		return err
	}
	for _, other := range set {
		if other.ID != k.ID && other.KeyEnc != "" && other.RetiredAt.IsZero() {
			return nil
		}
	}
	for p := 1; ; p++ {
		ps, total, err := sc.Providers().List(ctx, store.ObjectQuery{Page: store.Page{Number: p, Size: store.MaxPageSize}})
		if err != nil {
			return err
		}
		for _, pr := range ps {
			var cfg struct {
				SigningKey string `json:"signing_key"`
			}
			if json.Unmarshal(pr.Config, &cfg) != nil {
				continue
			}
			if id, err := uuid.Parse(cfg.SigningKey); err == nil && (id == k.ID || id == k.SetID) {
				return &httpError{status: http.StatusConflict, msg: "provider " + pr.Name + " signs with this key; choose another key there first"}
			}
		}
		if p*store.MaxPageSize >= total || len(ps) == 0 {
			return nil
		}
	}
}
