package wire

import (
	"crypto/ecdh"
	"crypto/mlkem"
	"crypto/rand"
	"crypto/tls"
	"fmt"

	"github.com/pqtls/pqtls"
)

// KeyAgreement is a client key share whose private key is kept, so that
// the shared secret can be computed from the server's share (see
// [ReadServerFlight]). Only groups for which [RealKeyShare] is true have
// one.
type KeyAgreement struct {
	// Share is the key_share entry to put in the ClientHello.
	Share KeyShare
	parts []keyPart
}

// keyPart is one component of a (possibly hybrid) key agreement: its
// server share size and how to turn the server's part into a secret.
type keyPart struct {
	serverSize int
	secret     func(server []byte) ([]byte, error)
}

// privateParts generate a component key pair, by codepoint (ML-KEM-768
// 0x0201, ML-KEM-1024 0x0202).
var privateParts = map[tls.CurveID]func() ([]byte, keyPart, error){
	tls.X25519:    func() ([]byte, keyPart, error) { return ecdhPart(ecdh.X25519(), 32) },
	tls.CurveP256: func() ([]byte, keyPart, error) { return ecdhPart(ecdh.P256(), 65) },
	tls.CurveP384: func() ([]byte, keyPart, error) { return ecdhPart(ecdh.P384(), 97) },
	tls.CurveP521: func() ([]byte, keyPart, error) { return ecdhPart(ecdh.P521(), 133) },
	0x0201: func() ([]byte, keyPart, error) {
		dk, err := mlkem.GenerateKey768()
		if err != nil {
			return nil, keyPart{}, err
		}
		return dk.EncapsulationKey().Bytes(), keyPart{mlkem.CiphertextSize768, dk.Decapsulate}, nil
	},
	0x0202: func() ([]byte, keyPart, error) {
		dk, err := mlkem.GenerateKey1024()
		if err != nil {
			return nil, keyPart{}, err
		}
		return dk.EncapsulationKey().Bytes(), keyPart{mlkem.CiphertextSize1024, dk.Decapsulate}, nil
	},
}

func ecdhPart(c ecdh.Curve, size int) ([]byte, keyPart, error) {
	k, err := c.GenerateKey(rand.Reader)
	if err != nil {
		return nil, keyPart{}, err
	}
	return k.PublicKey().Bytes(), keyPart{size, func(server []byte) ([]byte, error) {
		pub, err := c.NewPublicKey(server)
		if err != nil {
			return nil, err
		}
		return k.ECDH(pub)
	}}, nil
}

// NewKeyAgreement generates a key pair for group: a registered ECDH or
// ML-KEM group, or a hybrid made of those (parts concatenated in the
// registry's Components order, draft-ietf-tls-ecdhe-mlkem section 3).
func NewKeyAgreement(group tls.CurveID) (*KeyAgreement, error) {
	g, ok := pqtls.LookupGroup(group)
	if !ok || g.Kind == pqtls.KindDraft {
		return nil, fmt.Errorf("wire: no key agreement for %s", pqtls.GroupName(group))
	}
	comps := g.Components
	if comps == nil {
		comps = []tls.CurveID{group}
	}
	ka := &KeyAgreement{Share: KeyShare{Group: group}}
	for _, id := range comps {
		gen, ok := privateParts[id]
		if !ok {
			return nil, fmt.Errorf("wire: no key agreement for %s (component %s)", g.Name, pqtls.GroupName(id))
		}
		pub, part, err := gen()
		if err != nil {
			return nil, err
		}
		ka.Share.Data = append(ka.Share.Data, pub...)
		ka.parts = append(ka.parts, part)
	}
	return ka, nil
}

// SharedSecret returns the shared secret for the server's key_exchange
// bytes: each component's secret, concatenated in order.
func (ka *KeyAgreement) SharedSecret(server []byte) ([]byte, error) {
	var out []byte
	for _, p := range ka.parts {
		if len(server) < p.serverSize {
			return nil, fmt.Errorf("wire: server key share for %s is too short", pqtls.GroupName(ka.Share.Group))
		}
		s, err := p.secret(server[:p.serverSize])
		if err != nil {
			return nil, fmt.Errorf("wire: key agreement for %s: %w", pqtls.GroupName(ka.Share.Group), err)
		}
		out = append(out, s...)
		server = server[p.serverSize:]
	}
	if len(server) != 0 {
		return nil, fmt.Errorf("wire: server key share for %s is too long", pqtls.GroupName(ka.Share.Group))
	}
	return out, nil
}
