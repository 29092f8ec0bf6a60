package otelhooks

import (
	"fmt"
	"math"
	"net/url"
	"os"
	"strconv"
	"strings"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
)

// An EnvError reports an environment variable that [Setup] reads and whose
// value it cannot use. Setup refuses such a value rather than fall back to a
// default, which would sample every span for a sampler misspelt, or send
// them to the wrong place for an endpoint without a scheme.
type EnvError struct {
	Name  string // the variable, such as "OTEL_TRACES_SAMPLER"
	Value string // its value, as set
	Want  string // what it may hold
}

// Error returns "otelhooks: ", the variable, its value quoted, and what it may
// hold.
func (e *EnvError) Error() string {
	return fmt.Sprintf("otelhooks: %s %q %s", e.Name, e.Value, e.Want)
}

// sdkDisabled reports whether OTEL_SDK_DISABLED says true. Like the SDK's
// other booleans it takes true or false in any case; unlike the
// specification's lenient reading, anything else is an error, so that "1" or
// "yes" does not leave the SDK on unnoticed.
func sdkDisabled() (bool, error) {
	const key = "OTEL_SDK_DISABLED"
	v := os.Getenv(key)
	switch strings.ToLower(strings.TrimSpace(v)) {
	case "true":
		return true, nil
	case "false", "":
		return false, nil
	}
	return false, &EnvError{key, v, "is not true or false"}
}

// samplerFromEnv returns the sampler that OTEL_TRACES_SAMPLER and
// OTEL_TRACES_SAMPLER_ARG describe, or nil when none is set.
func samplerFromEnv() (sdktrace.Sampler, error) {
	const key, argKey = "OTEL_TRACES_SAMPLER", "OTEL_TRACES_SAMPLER_ARG"
	name := os.Getenv(key)
	ratio := func() (float64, error) {
		arg := os.Getenv(argKey)
		if strings.TrimSpace(arg) == "" {
			return 1, nil
		}
		v, err := strconv.ParseFloat(strings.TrimSpace(arg), 64)
		if err != nil || math.IsNaN(v) || v < 0 || v > 1 {
			return 0, &EnvError{argKey, arg, fmt.Sprintf("is not a ratio from 0 to 1 (for %s %q)", key, name)}
		}
		return v, nil
	}
	switch strings.ToLower(strings.TrimSpace(name)) {
	case "":
		return nil, nil
	case "always_on":
		return sdktrace.AlwaysSample(), nil
	case "always_off":
		return sdktrace.NeverSample(), nil
	case "traceidratio":
		r, err := ratio()
		if err != nil {
			return nil, err
		}
		return sdktrace.TraceIDRatioBased(r), nil
	case "parentbased_always_on":
		return sdktrace.ParentBased(sdktrace.AlwaysSample()), nil
	case "parentbased_always_off":
		return sdktrace.ParentBased(sdktrace.NeverSample()), nil
	case "parentbased_traceidratio":
		r, err := ratio()
		if err != nil {
			return nil, err
		}
		return sdktrace.ParentBased(sdktrace.TraceIDRatioBased(r)), nil
	}
	return nil, &EnvError{key, name, "is not one of always_on, always_off, traceidratio, " +
		"parentbased_always_on, parentbased_always_off, parentbased_traceidratio"}
}

// checkEndpoints refuses an OTLP endpoint that is not an http or https URL
// with a host. The exporters would read "127.0.0.1:4318" as a path and send
// to their default host instead.
func checkEndpoints() error {
	for _, key := range [...]string{"OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"} {
		v := os.Getenv(key)
		if strings.TrimSpace(v) == "" {
			continue
		}
		u, err := url.Parse(strings.TrimSpace(v))
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return &EnvError{key, v, "is not a URL with a scheme and a host, such as http://127.0.0.1:4318"}
		}
	}
	return nil
}
