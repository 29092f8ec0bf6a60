// Package oteltest holds the test helpers this module's packages share:
// readers of what an OpenTelemetry SDK recorded, so that each package's tests
// say what they expect rather than how to dig it out of metricdata.
//
// Only tests import it; it is internal, so no user of the module sees it.
package oteltest
