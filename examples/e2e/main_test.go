package e2e_test

import (
	"testing"

	"go.uber.org/goleak"
)

// afterTests runs once the tests are done, before goleak looks for
// goroutines left behind: the HTTP clients' idle connections are closed there.
var afterTests []func()

type cleanM struct{ *testing.M }

func (m cleanM) Run() int {
	code := m.M.Run()
	for _, f := range afterTests {
		f()
	}
	return code
}

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(cleanM{m},
		// The OTLP/HTTP exporter keeps its keep-alive connection to Jaeger on
		// a transport its package shares, which shutting it down does not
		// close: the connection ends at the transport's idle timeout (90s).
		// Our own client's connections are closed by afterTests.
		goleak.IgnoreAnyFunction("net/http.(*persistConn).readLoop"),
		goleak.IgnoreAnyFunction("net/http.(*persistConn).writeLoop"))
}
