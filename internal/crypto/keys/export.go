package keys

import (
	"fmt"

	"github.com/gatehouse-id/gatehouse/internal/store"
)

// PrivateKeyPEM unseals k's private key (PKCS#8 PEM) for an admin allowed
// to export it; "" when k is a certificate without a key. Callers record
// the export: nothing else ever hands the plain key out.
func (m *Manager) PrivateKeyPEM(sc store.Scope, k *store.CertificateKeyPair) (string, error) {
	if k.KeyEnc == "" {
		return "", nil
	}
	pem, err := m.box.OpenString(k.KeyEnc, AAD(sc.TenantID(), k.ID))
	if err != nil {
		return "", fmt.Errorf("keys: open private key of %q: %w", k.Name, err)
	}
	return pem, nil
}
