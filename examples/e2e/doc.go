// Package e2e holds the end-to-end tests: the demo's pipeline run against a
// real Jaeger and a real Prometheus, read back through their HTTP APIs.
//
// The tests carry the build tag e2e, so that go test ./... without backends
// does not see them. Run them with the backends started and stopped around
// them:
//
//	make test                  # everything, backends included
//	make backends-up e2e       # or: start the backends, run only these tests
//	make backends-down
//
// A backend that does not answer fails the tests, with a message saying how
// to start it; nothing is skipped.
package e2e
