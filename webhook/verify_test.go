package webhook_test

import (
	"bytes"
	"crypto/ed25519"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/leadwaycrm/leadway/leadwaytest"
	"github.com/leadwaycrm/leadway/webhook"
)

// TestDefaultPublicKey: the default key is the one HighLevel publishes, as
// crypto/x509 reads it.
func TestDefaultPublicKey(t *testing.T) {
	der, err := base64.StdEncoding.DecodeString("MCowBQYDK2VwAyEAi2HR1srL4o18O8BRa7gVJY7G7bupbN3H9AwJrHCDiOg=")
	if err != nil {
		t.Fatal(err)
	}
	k, err := x509.ParsePKIXPublicKey(der)
	if err != nil {
		t.Fatal(err)
	}
	if !webhook.DefaultPublicKey.Equal(k) {
		t.Errorf("DefaultPublicKey = %x, want %x", webhook.DefaultPublicKey, k)
	}
	if leadwaytest.WebhookPublicKey().Equal(webhook.DefaultPublicKey) {
		t.Error("the fake's test key must not be HighLevel's")
	}
}

func TestParsePublicKey(t *testing.T) {
	raw := base64.StdEncoding.EncodeToString(leadwaytest.WebhookPublicKey())
	for _, tc := range []struct {
		name, in string
		want     ed25519.PublicKey // nil: an error
	}{
		{"SPKI, as HighLevel publishes", webhook.DefaultPublicKeySPKI, webhook.DefaultPublicKey},
		{"the fake's SPKI", leadwaytest.WebhookPublicKeySPKI, leadwaytest.WebhookPublicKey()},
		{"raw 32 bytes", raw, leadwaytest.WebhookPublicKey()},
		{"surrounding space", "  " + webhook.DefaultPublicKeySPKI + "\n", webhook.DefaultPublicKey},
		{"empty", "", nil},
		{"not base64", "not a key!", nil},
		{"31 bytes", base64.StdEncoding.EncodeToString(make([]byte, 31)), nil},
		// An X25519 key (OID 1.3.101.110) has the same length as an
		// Ed25519 one in SPKI form.
		{"X25519 SPKI", "MCowBQYDK2VuAyEAi2HR1srL4o18O8BRa7gVJY7G7bupbN3H9AwJrHCDiOg=", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := webhook.ParsePublicKey(tc.in)
			if tc.want == nil {
				if err == nil {
					t.Fatalf("ParsePublicKey(%q) = %x, want an error", tc.in, got)
				}
				return
			}
			if err != nil || !got.Equal(tc.want) {
				t.Fatalf("ParsePublicKey(%q) = %x, %v; want %x", tc.in, got, err, tc.want)
			}
		})
	}
}

// TestVerify: the signature must be the key's over the exact bytes, and
// every other input fails closed with the reason named.
func TestVerify(t *testing.T) {
	key := leadwaytest.WebhookPublicKey()
	body := []byte(`{"type":"OpportunityCreate", "id":"opp-1","monetaryValue":220.0,"webhookId":"w-1"}`)
	sig := leadwaytest.SignWebhook(body)
	sigBytes, _ := base64.StdEncoding.DecodeString(sig)

	var decoded map[string]any
	if err := json.Unmarshal(body, &decoded); err != nil {
		t.Fatal(err)
	}
	reserialised, _ := json.Marshal(decoded)
	flipped := bytes.Clone(body)
	flipped[len(flipped)/2] ^= 0x01
	_, otherKey, _ := ed25519.GenerateKey(nil)
	// The last character before "==" carries 4 unused bits; set one, and a
	// lenient decoder reads the same 64 bytes from another spelling.
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
	loosePadding := sig[:85] + string(alphabet[strings.IndexByte(alphabet, sig[85])|1]) + "=="
	if lenient, err := base64.StdEncoding.DecodeString(loosePadding); err != nil || !bytes.Equal(lenient, sigBytes) || loosePadding == sig {
		t.Fatalf("loosePadding %q is not another spelling of the signature: %v", loosePadding, err)
	}

	for _, tc := range []struct {
		name string
		body []byte
		sig  string
		key  ed25519.PublicKey
		want error // nil: verified
	}{
		{"valid", body, sig, key, nil},
		{"re-serialised body, original signature", reserialised, sig, key, webhook.ErrSignatureMismatch},
		{"one flipped byte", flipped, sig, key, webhook.ErrSignatureMismatch},
		{"a byte appended", append(bytes.Clone(body), '\n'), sig, key, webhook.ErrSignatureMismatch},
		{"another key's signature", body, base64.StdEncoding.EncodeToString(ed25519.Sign(otherKey, body)), key, webhook.ErrSignatureMismatch},
		{"HighLevel's key, signed by the fake", body, sig, webhook.DefaultPublicKey, webhook.ErrSignatureMismatch},
		{"missing signature", body, "", key, webhook.ErrNoSignature},
		{"not base64", body, strings.Repeat("*", 88), key, webhook.ErrMalformedSignature},
		{"63-byte signature", body, base64.StdEncoding.EncodeToString(sigBytes[:63]), key, webhook.ErrMalformedSignature},
		{"65-byte signature", body, base64.StdEncoding.EncodeToString(append(bytes.Clone(sigBytes), 0)), key, webhook.ErrMalformedSignature},
		{"unpadded base64", body, base64.RawStdEncoding.EncodeToString(sigBytes), key, webhook.ErrMalformedSignature},
		{"URL-safe base64", body, strings.NewReplacer("+", "-", "/", "_").Replace(sig), key, webhook.ErrMalformedSignature},
		{"hex signature", body, strings.Repeat("ab", 44), key, webhook.ErrMalformedSignature},
		{"non-zero padding bits", body, loosePadding, key, webhook.ErrMalformedSignature},
		{"empty body, signed", nil, leadwaytest.SignWebhook(nil), key, webhook.ErrEmptyBody},
		{"no key", body, sig, nil, webhook.ErrNoPublicKey},
		{"short key", body, sig, key[:31], webhook.ErrNoPublicKey},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := webhook.Verify(tc.body, tc.sig, tc.key)
			if tc.want == nil {
				if err != nil {
					t.Fatalf("Verify = %v, want nil", err)
				}
				return
			}
			var se *webhook.SignatureError
			if !errors.As(err, &se) || !errors.Is(err, tc.want) {
				t.Fatalf("Verify = %v, want a *SignatureError for %v", err, tc.want)
			}
		})
	}
}

// TestVerifyDoesNotAllocate: verification is a pure computation over its
// arguments.
func TestVerifyDoesNotAllocate(t *testing.T) {
	key := leadwaytest.WebhookPublicKey()
	body := []byte(`{"type":"OpportunityCreate"}`)
	sig := leadwaytest.SignWebhook(body)
	if n := testing.AllocsPerRun(100, func() {
		if webhook.Verify(body, sig, key) != nil {
			t.Fatal("not verified")
		}
	}); n != 0 {
		t.Errorf("Verify allocates %v times per call", n)
	}
}
