package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"text/tabwriter"
	"time"

	"github.com/google/uuid"

	"github.com/gatehouse-id/gatehouse/internal/config"
	"github.com/gatehouse-id/gatehouse/internal/crypto/keys"
	"github.com/gatehouse-id/gatehouse/internal/crypto/secretbox"
	"github.com/gatehouse-id/gatehouse/internal/store"
)

func init() {
	register(command{name: "key generate", summary: "generate a signing key (rsa, ec or ed25519)", run: runKeyGenerate})
	register(command{name: "key import", summary: "import a PEM certificate and private key", run: runKeyImport})
	register(command{name: "key list", summary: "list certificates and signing keys", run: runKeyList})
	register(command{name: "key rotate", summary: "rotate a signing key, keeping the old one published", run: runKeyRotate})
}

var keyFlags = map[string]string{"name": "--name", "key_type": "--type", "certificate_data": "--cert", "key_data": "--key",
	"kid": "--cert"}

// keyModel is the key pairs' model in events, as the API names it.
const keyModel = "authentik_crypto.certificatekeypair"

// withKeys is withScope with a key manager over the store.
func (a *cli) withKeys(ctx context.Context, tenant string, fn func(x *app, sc store.Scope, m *keys.Manager) error) error {
	return a.withScope(ctx, tenant, func(x *app, sc store.Scope) error {
		box, err := secretbox.New(x.cfg.SecretKey, x.cfg.SecretKeyPrevious...)
		if err != nil {
			return err
		}
		m := keys.NewManager(x.db, box, time.Now)
		m.Bus = x.bus() // a rotation reaches running servers at once
		return fn(x, sc, m)
	})
}

func printKey(a *cli, k *store.CertificateKeyPair) {
	fmt.Fprintf(a.stdout, "%s\t%s\t%s\tkid=%s\n", k.ID, k.Name, k.KeyType, k.KID)
}

func runKeyGenerate(ctx context.Context, a *cli, args []string) error {
	fs := a.flags("key generate", "--name NAME [--type rsa|ec|ed25519]",
		"Generate a key pair with a self-signed certificate. Providers sign with RS256 (rsa, 2048 bits),\nES256 (ec, P-256) or EdDSA (ed25519).")
	name := fs.String("name", "", "unique name (required)")
	typ := fs.String("type", store.KeyTypeRSA, "rsa, ec or ed25519")
	validity := fs.String("validity", "days=365", "certificate lifetime")
	tenant := tenantFlag(fs)
	if err := parse(fs, args); err != nil {
		return err
	}
	if *name == "" {
		return usagef("--name is required")
	}
	v, err := config.ParseDuration(*validity)
	if err != nil || v <= 0 {
		return usagef("--validity: %q is not a positive duration (e.g. days=365)", *validity)
	}
	return a.withKeys(ctx, *tenant, func(x *app, sc store.Scope, m *keys.Manager) error {
		k, err := m.Generate(ctx, sc, keys.Generate{Name: *name, Type: *typ, Validity: v})
		if err != nil {
			return describe(err, keyFlags)
		}
		x.modelEvent(ctx, sc, "model_created", keyModel, k.ID, k.Name, nil)
		printKey(a, k)
		return nil
	})
}

func runKeyImport(ctx context.Context, a *cli, args []string) error {
	fs := a.flags("key import", "--name NAME --cert FILE [--key FILE]",
		"Import a PEM certificate and, to sign with it, its private key (PKCS#8, PKCS#1 or SEC 1, unencrypted).\nThe private key is stored encrypted.")
	name := fs.String("name", "", "unique name (required)")
	certFile := fs.String("cert", "", "PEM certificate file (required)")
	keyFile := fs.String("key", "", "PEM private key file")
	tenant := tenantFlag(fs)
	if err := parse(fs, args); err != nil {
		return err
	}
	if *name == "" || *certFile == "" {
		return usagef("--name and --cert are required")
	}
	read := func(flag, file string) (string, error) {
		if file == "" {
			return "", nil
		}
		b, err := os.ReadFile(file)
		if err != nil {
			return "", usagef("%s: %v", flag, errors.Unwrap(err))
		}
		return string(b), nil
	}
	certPEM, err := read("--cert", *certFile)
	if err != nil {
		return err
	}
	keyPEM, err := read("--key", *keyFile)
	if err != nil {
		return err
	}
	return a.withKeys(ctx, *tenant, func(x *app, sc store.Scope, m *keys.Manager) error {
		k, err := m.Import(ctx, sc, *name, certPEM, keyPEM)
		if err != nil {
			return describe(err, keyFlags)
		}
		x.modelEvent(ctx, sc, "model_created", keyModel, k.ID, k.Name, nil)
		printKey(a, k)
		return nil
	})
}

func runKeyList(ctx context.Context, a *cli, args []string) error {
	fs := a.flags("key list", "[flags]", "List certificates and keys with their rotation state.")
	tenant := tenantFlag(fs)
	if err := parse(fs, args); err != nil {
		return err
	}
	return a.withKeys(ctx, *tenant, func(_ *app, sc store.Scope, _ *keys.Manager) error {
		tw := tabwriter.NewWriter(a.stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tNAME\tTYPE\tPRIVATE KEY\tSIGNS FROM\tPUBLISHED UNTIL\tKID")
		stamp := func(t time.Time, zero string) string {
			if t.IsZero() {
				return zero
			}
			return t.UTC().Format(time.RFC3339)
		}
		for page := 1; ; page++ {
			ks, total, err := sc.CertificateKeyPairs().List(ctx, store.Page{Number: page, Size: store.MaxPageSize})
			if err != nil {
				return err
			}
			for _, k := range ks {
				priv := "no"
				if k.KeyEnc != "" {
					priv = "yes"
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", k.ID, k.Name, k.KeyType, priv, stamp(k.ActiveFrom, "-"),
					stamp(k.RetiredAt, "-"), k.KID)
			}
			if page*store.MaxPageSize >= total || len(ks) == 0 {
				break
			}
		}
		return tw.Flush()
	})
}

func runKeyRotate(ctx context.Context, a *cli, args []string) error {
	fs := a.flags("key rotate", "--name NAME [--publish-ahead D] [--grace D]",
		"Rotate a signing key: a new key of the same type joins the old one's set. It is published in JWKS at once\n"+
			"and signs after --publish-ahead; the old key stays published for --grace after that, then drops out.\n"+
			"Providers that name any key of the set follow the rotation.")
	name := fs.String("name", "", "the key to rotate (required)")
	ahead := fs.String("publish-ahead", "0", "how long relying parties see the new key before it signs, e.g. hours=24")
	grace := fs.String("grace", "hours=1", "how long the old key stays published after the switch; at least the longest token lifetime")
	tenant := tenantFlag(fs)
	if err := parse(fs, args); err != nil {
		return err
	}
	if *name == "" {
		return usagef("--name is required")
	}
	durs := map[string]*time.Duration{}
	for flag, val := range map[string]string{"--publish-ahead": *ahead, "--grace": *grace} {
		d, err := config.ParseDuration(val)
		if err != nil || d < 0 {
			return usagef("%s: %q is not a duration (e.g. hours=1)", flag, val)
		}
		durs[flag] = &d
	}
	return a.withKeys(ctx, *tenant, func(x *app, sc store.Scope, m *keys.Manager) error {
		id, err := keyID(ctx, sc, *name)
		if err != nil {
			return err
		}
		k, err := m.Rotate(ctx, sc, id, *durs["--publish-ahead"], *durs["--grace"])
		if err != nil {
			return describe(err, keyFlags)
		}
		// The successor is a new key pair; the old one stays, retiring.
		x.modelEvent(ctx, sc, "model_created", keyModel, k.ID, k.Name, map[string]any{"rotates": id.String()})
		printKey(a, k)
		return nil
	})
}

// keyID resolves a key by name or ID.
func keyID(ctx context.Context, sc store.Scope, name string) (uuid.UUID, error) {
	k, err := sc.CertificateKeyPairs().GetByName(ctx, name)
	if errors.Is(err, store.ErrNotFound) {
		if id, perr := uuid.Parse(name); perr == nil {
			if k, err = sc.CertificateKeyPairs().Get(ctx, id); err == nil {
				return k.ID, nil
			}
		}
		return uuid.Nil, usagef("--name: no key %q", name)
	}
	if err != nil {
		return uuid.Nil, err
	}
	return k.ID, nil
}
