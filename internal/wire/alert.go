package wire

import (
	"errors"
	"fmt"
)

// ErrMalformed is wrapped by every parse error of this package, so callers can
// tell "the peer sent garbage" from I/O errors with errors.Is.
var ErrMalformed = errors.New("malformed TLS message")

func malformed(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrMalformed}, args...)...)
}

// AlertLevel is the level of an alert (RFC 8446 section 6).
type AlertLevel uint8

// Alert levels.
const (
	AlertLevelWarning AlertLevel = 1
	AlertLevelFatal   AlertLevel = 2
)

// AlertDescription is an alert description code (RFC 8446 section 6, plus the
// codes RFC 5246 and its extensions defined and TLS 1.3 deprecated).
type AlertDescription uint8

// Alert descriptions (RFC 8446 section 6 unless noted).
const (
	AlertCloseNotify                  AlertDescription = 0
	AlertUnexpectedMessage            AlertDescription = 10
	AlertBadRecordMAC                 AlertDescription = 20
	AlertDecryptionFailed             AlertDescription = 21 // RFC 5246, reserved in TLS 1.3
	AlertRecordOverflow               AlertDescription = 22
	AlertDecompressionFailure         AlertDescription = 30 // RFC 5246, reserved in TLS 1.3
	AlertHandshakeFailure             AlertDescription = 40
	AlertNoCertificate                AlertDescription = 41 // SSL 3.0, reserved
	AlertBadCertificate               AlertDescription = 42
	AlertUnsupportedCertificate       AlertDescription = 43
	AlertCertificateRevoked           AlertDescription = 44
	AlertCertificateExpired           AlertDescription = 45
	AlertCertificateUnknown           AlertDescription = 46
	AlertIllegalParameter             AlertDescription = 47
	AlertUnknownCA                    AlertDescription = 48
	AlertAccessDenied                 AlertDescription = 49
	AlertDecodeError                  AlertDescription = 50
	AlertDecryptError                 AlertDescription = 51
	AlertExportRestriction            AlertDescription = 60 // RFC 5246, reserved
	AlertProtocolVersion              AlertDescription = 70
	AlertInsufficientSecurity         AlertDescription = 71
	AlertInternalError                AlertDescription = 80
	AlertInappropriateFallback        AlertDescription = 86 // RFC 7507
	AlertUserCanceled                 AlertDescription = 90
	AlertNoRenegotiation              AlertDescription = 100 // RFC 5246, reserved in TLS 1.3
	AlertMissingExtension             AlertDescription = 109
	AlertUnsupportedExtension         AlertDescription = 110
	AlertCertificateUnobtainable      AlertDescription = 111 // RFC 6066, reserved in TLS 1.3
	AlertUnrecognizedName             AlertDescription = 112
	AlertBadCertificateStatusResponse AlertDescription = 113
	AlertBadCertificateHashValue      AlertDescription = 114 // RFC 6066, reserved in TLS 1.3
	AlertUnknownPSKIdentity           AlertDescription = 115
	AlertCertificateRequired          AlertDescription = 116
	AlertGeneralError                 AlertDescription = 117 // draft-ietf-tls-rfc8446bis section 6
	AlertNoApplicationProtocol        AlertDescription = 120 // RFC 7301
	AlertECHRequired                  AlertDescription = 121 // draft-ietf-tls-esni
)

var alertNames = map[AlertDescription]string{
	AlertCloseNotify:                  "close_notify",
	AlertUnexpectedMessage:            "unexpected_message",
	AlertBadRecordMAC:                 "bad_record_mac",
	AlertDecryptionFailed:             "decryption_failed",
	AlertRecordOverflow:               "record_overflow",
	AlertDecompressionFailure:         "decompression_failure",
	AlertHandshakeFailure:             "handshake_failure",
	AlertNoCertificate:                "no_certificate",
	AlertBadCertificate:               "bad_certificate",
	AlertUnsupportedCertificate:       "unsupported_certificate",
	AlertCertificateRevoked:           "certificate_revoked",
	AlertCertificateExpired:           "certificate_expired",
	AlertCertificateUnknown:           "certificate_unknown",
	AlertIllegalParameter:             "illegal_parameter",
	AlertUnknownCA:                    "unknown_ca",
	AlertAccessDenied:                 "access_denied",
	AlertDecodeError:                  "decode_error",
	AlertDecryptError:                 "decrypt_error",
	AlertExportRestriction:            "export_restriction",
	AlertProtocolVersion:              "protocol_version",
	AlertInsufficientSecurity:         "insufficient_security",
	AlertInternalError:                "internal_error",
	AlertInappropriateFallback:        "inappropriate_fallback",
	AlertUserCanceled:                 "user_canceled",
	AlertNoRenegotiation:              "no_renegotiation",
	AlertMissingExtension:             "missing_extension",
	AlertUnsupportedExtension:         "unsupported_extension",
	AlertCertificateUnobtainable:      "certificate_unobtainable",
	AlertUnrecognizedName:             "unrecognized_name",
	AlertBadCertificateStatusResponse: "bad_certificate_status_response",
	AlertBadCertificateHashValue:      "bad_certificate_hash_value",
	AlertUnknownPSKIdentity:           "unknown_psk_identity",
	AlertCertificateRequired:          "certificate_required",
	AlertGeneralError:                 "general_error",
	AlertNoApplicationProtocol:        "no_application_protocol",
	AlertECHRequired:                  "ech_required",
}

var levelNames = map[AlertLevel]string{AlertLevelWarning: "warning", AlertLevelFatal: "fatal"}

// String returns "warning", "fatal" or "level(N)".
func (l AlertLevel) String() string { return enumName(levelNames, l, "level(%d)") }

// Known reports whether the description is a registered alert code.
func (d AlertDescription) Known() bool {
	_, ok := alertNames[d]
	return ok
}

// String returns the RFC name of the alert ("handshake_failure"), or
// "unknown_N" for an unregistered code. The set of values is bounded (at most
// 256), so it is safe as a metric label suffix ("alert_" + name).
func (d AlertDescription) String() string {
	return enumName(alertNames, d, "unknown_%d")
}

// Alert is one alert message (RFC 8446 section 6).
type Alert struct {
	Level       AlertLevel
	Description AlertDescription
}

// String returns e.g. "fatal handshake_failure (40)".
func (a Alert) String() string {
	return fmt.Sprintf("%s %s (%d)", a.Level, a.Description, uint8(a.Description))
}

// Error makes a received alert usable as an error value.
func (a Alert) Error() string { return "peer sent alert: " + a.String() }

// ParseAlert parses the payload of an alert record. The payload must be
// exactly two bytes (level, description); the level must be warning or fatal.
// Several alerts packed in one record are rejected: no TLS stack sends them.
func ParseAlert(payload []byte) (Alert, error) {
	if len(payload) != 2 {
		return Alert{}, malformed("alert record of %d bytes, want 2", len(payload))
	}
	a := Alert{Level: AlertLevel(payload[0]), Description: AlertDescription(payload[1])}
	if a.Level != AlertLevelWarning && a.Level != AlertLevelFatal {
		return Alert{}, malformed("alert level %d is neither warning (1) nor fatal (2)", payload[0])
	}
	return a, nil
}

// Marshal returns the two-byte alert payload.
func (a Alert) Marshal() []byte { return []byte{byte(a.Level), byte(a.Description)} }
