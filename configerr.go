package pqtls

import (
	"errors"
	"fmt"
	"os"
	"strings"
)

// ErrInvalidConfig is matched (errors.Is) by every configuration error pqtls
// returns: an unknown mode, group or version, a policy that contradicts its
// mode, a base configuration pqtls cannot harden. Such an error is found
// before any connection; a service should refuse to start on it.
var ErrInvalidConfig = errors.New("pqtls: invalid configuration")

// ConfigError is the type of every configuration error: Field names the
// setting (mode, groups, min_version, PQTLS_POLICY...), Msg says what is
// wrong and what to do.
type ConfigError struct {
	Field string
	Msg   string
	Err   error // underlying error, if any
}

func (e *ConfigError) Error() string { return e.Msg }

// Is makes errors.Is(err, ErrInvalidConfig) true.
func (e *ConfigError) Is(target error) bool { return target == ErrInvalidConfig }

// Unwrap returns the underlying error.
func (e *ConfigError) Unwrap() error { return e.Err }

func configErrorf(field, format string, args ...any) error {
	err := fmt.Errorf(format, args...)
	return &ConfigError{Field: field, Msg: err.Error(), Err: errors.Unwrap(err)}
}

// EnvPolicy is the environment variable PolicyFromEnv reads.
const EnvPolicy = "PQTLS_POLICY"

// EnvAuth is the environment variable PolicyFromEnv reads for the
// authentication mode (any, prefer-pq, require-pq or cnsa2).
const EnvAuth = "PQTLS_AUTH"

// PolicyFromEnv reads the fleet-wide policy switches: PQTLS_POLICY, of the
// form mode[:GROUP,GROUP...] (for example "require" or
// "prefer:X25519MLKEM768,x25519"; groups are named as ParseGroupList takes
// them), and PQTLS_AUTH, the authentication mode (any, prefer-pq,
// require-pq or cnsa2; parsed by ParseAuth). Unset or empty variables mean
// the zero Policy (prefer, defaults, auth any) and a nil error. The result
// is validated; any error is a *ConfigError naming the variable. pqtls
// reads the variables only here: ServerConfig and ClientConfig never
// consult the environment, so pass the result in Options.Policy.
func PolicyFromEnv() (Policy, error) {
	v := strings.TrimSpace(os.Getenv(EnvPolicy))
	auth := os.Getenv(EnvAuth)
	a, err := ParseAuth(auth)
	if err != nil {
		return Policy{}, &ConfigError{Field: EnvAuth, Msg: fmt.Sprintf("%s=%q: %v", EnvAuth, auth, err), Err: err}
	}
	if v == "" {
		if a == AuthAny {
			return Policy{}, nil
		}
		p := Policy{Auth: a}
		if _, err := p.Validate(); err != nil {
			return Policy{}, &ConfigError{Field: EnvAuth, Msg: fmt.Sprintf("%s=%q: %v", EnvAuth, auth, err), Err: err}
		}
		return p, nil
	}
	mode, groups, hasGroups := strings.Cut(v, ":")
	if strings.TrimSpace(mode) == "" {
		return Policy{}, configErrorf(EnvPolicy, "%s=%q has no mode: use mode[:GROUP,GROUP], mode one of %s", EnvPolicy, v, modeList())
	}
	if hasGroups && strings.TrimSpace(groups) == "" {
		return Policy{}, configErrorf(EnvPolicy, "%s=%q has an empty group list after ':': remove the ':' for the mode's default groups, or name them (e.g. require:X25519MLKEM768)", EnvPolicy, v)
	}
	p, _, err := ParsePolicy(mode, groups, "", auth)
	if err != nil {
		field, shown := EnvPolicy, fmt.Sprintf("%s=%q", EnvPolicy, v)
		if strings.TrimSpace(auth) != "" {
			field, shown = EnvPolicy+", "+EnvAuth, fmt.Sprintf("%s %s=%q", shown, EnvAuth, auth)
		}
		return Policy{}, &ConfigError{Field: field, Msg: fmt.Sprintf("%s: %v", shown, err), Err: err}
	}
	return p, nil
}
