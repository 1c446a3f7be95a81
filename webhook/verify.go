package webhook

import (
	"bytes"
	"crypto/ed25519"
	"encoding/base64"
	"fmt"
	"strings"
)

// SignatureHeader is the header HighLevel puts a delivery's signature in:
// base64 of an Ed25519 signature over the exact bytes of the body.
const SignatureHeader = "X-GHL-Signature"

// DefaultPublicKeySPKI is HighLevel's webhook public key, as its Webhook
// Integration Guide publishes it: base64 of the key's SPKI (PKIX, DER)
// encoding. [DefaultPublicKey] is the same key, parsed.
const DefaultPublicKeySPKI = "MCowBQYDK2VwAyEAi2HR1srL4o18O8BRa7gVJY7G7bupbN3H9AwJrHCDiOg="

// DefaultPublicKey is the key [NewHandler] verifies deliveries with unless
// [WithPublicKey] names others: HighLevel's Ed25519 webhook key, published
// in its Webhook Integration Guide
// (https://marketplace.gohighlevel.com/docs/2023-02-21/webhook/WebhookIntegrationGuide)
// as [DefaultPublicKeySPKI]. Should HighLevel rotate it, pass the new key to
// [WithPublicKey] (beside this one while deliveries signed with either may
// arrive) without waiting for a release of this package. Do not modify it.
var DefaultPublicKey = mustParsePublicKey(DefaultPublicKeySPKI)

// spkiPrefix is the fixed DER header of an Ed25519 key in SPKI form
// (RFC 8410): SEQUENCE { SEQUENCE { OID 1.3.101.112 }, BIT STRING (33 bytes) }.
var spkiPrefix = []byte{0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00}

// ParsePublicKey parses an Ed25519 public key written in base64: the SPKI
// form HighLevel publishes (44 bytes, as [DefaultPublicKeySPKI]) or the raw
// 32 bytes. It lets a key come from configuration, for [WithPublicKey].
func ParsePublicKey(s string) (ed25519.PublicKey, error) {
	der, err := strictBase64.DecodeString(strings.TrimSpace(s))
	if err != nil {
		return nil, fmt.Errorf("webhook: public key is not base64: %w", err)
	}
	switch {
	case len(der) == ed25519.PublicKeySize:
		return ed25519.PublicKey(der), nil
	case len(der) == len(spkiPrefix)+ed25519.PublicKeySize && bytes.HasPrefix(der, spkiPrefix):
		return ed25519.PublicKey(der[len(spkiPrefix):]), nil
	}
	return nil, fmt.Errorf("webhook: public key is %d bytes, not an Ed25519 key in SPKI form (44 bytes) or raw (32 bytes)", len(der))
}

func mustParsePublicKey(s string) ed25519.PublicKey {
	k, err := ParsePublicKey(s)
	if err != nil {
		panic(err)
	}
	return k
}

// signatureLen is the length of a 64-byte signature in padded base64.
const signatureLen = 88

// strictBase64 refuses non-zero padding bits, so that one signature has one
// spelling.
var strictBase64 = base64.StdEncoding.Strict()

// Verify checks that signature, the value of the [SignatureHeader] header,
// is key's Ed25519 signature of body, the request body exactly as received.
// Call it before decoding body: a body decoded and encoded again differs in
// its bytes and no longer verifies. It is a pure function of its arguments.
//
// It fails closed, with a [*SignatureError] whose Reason is one of
// [ErrNoPublicKey] (key is not a 32-byte Ed25519 key), [ErrNoSignature],
// [ErrMalformedSignature] (not base64, or not 64 bytes), [ErrEmptyBody] or
// [ErrSignatureMismatch]. There is no fallback to HighLevel's deprecated RSA
// signatures (X-WH-Signature): accepting them would let a sender choose the
// weaker check.
func Verify(body []byte, signature string, key ed25519.PublicKey) error {
	if len(key) != ed25519.PublicKeySize {
		return &SignatureError{Reason: ErrNoPublicKey}
	}
	sig, err := decodeSignature(signature)
	if err != nil {
		return err
	}
	if len(body) == 0 {
		return &SignatureError{Reason: ErrEmptyBody}
	}
	if !ed25519.Verify(key, body, sig[:]) {
		return &SignatureError{Reason: ErrSignatureMismatch}
	}
	return nil
}

// decodeSignature decodes a signature header without allocating: its
// length is checked before anything is decoded.
func decodeSignature(s string) (sig [ed25519.SignatureSize]byte, err error) {
	switch {
	case s == "":
		return sig, &SignatureError{Reason: ErrNoSignature}
	case len(s) != signatureLen:
		return sig, &SignatureError{Reason: ErrMalformedSignature,
			Detail: fmt.Sprintf("%d characters, want %d (base64 of 64 bytes)", len(s), signatureLen)}
	}
	var src [signatureLen]byte // a copy on the stack: []byte(s) would allocate
	copy(src[:], s)
	var buf [ed25519.SignatureSize + 2]byte // room for what the padding stands for
	n, err := strictBase64.Decode(buf[:], src[:])
	switch {
	case err != nil:
		return sig, &SignatureError{Reason: ErrMalformedSignature, Detail: "not base64"}
	case n != ed25519.SignatureSize:
		return sig, &SignatureError{Reason: ErrMalformedSignature,
			Detail: fmt.Sprintf("%d bytes, want %d", n, ed25519.SignatureSize)}
	}
	copy(sig[:], buf[:n])
	return sig, nil
}

// verifyAny is Verify against each key in turn, for a key rotation: the
// first key that verifies wins; otherwise the first key's answer.
func verifyAny(body []byte, signature string, keys []ed25519.PublicKey) error {
	var first error
	for _, k := range keys {
		err := Verify(body, signature, k)
		if err == nil {
			return nil
		}
		if first == nil {
			first = err
		}
	}
	if first == nil {
		return &SignatureError{Reason: ErrNoPublicKey}
	}
	return first
}
