package resiliencehttp_test

import (
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/aragora/resilience/timeout"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The 503 the handler answers for a handler whose time ran out carries none
// of the headers that handler set for the response it never sent: a cache
// must not keep the 503 for an hour, and a client must not gunzip plain
// text.
func TestATimeoutsAnswerCarriesNoHeaderOfTheHandler(t *testing.T) {
	limit, err := timeout.New(20 * time.Millisecond)
	require.NoError(t, err)
	srv, c := serve(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "public, max-age=3600")
		w.Header().Set("Content-Encoding", "gzip")
		w.Header().Set("Set-Cookie", "session=abc")
		<-r.Context().Done()
		w.WriteHeader(http.StatusOK) // too late: refused
	}), pipeline(t, limit))

	req, err := http.NewRequest(http.MethodGet, srv.URL, nil)
	require.NoError(t, err)
	req.Header.Set("Accept-Encoding", "identity") // read the body as sent
	resp, err := c.Do(req)
	require.NoError(t, err)
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusServiceUnavailable, resp.StatusCode)
	assert.Equal(t, "Service Unavailable\n", string(b))
	assert.Empty(t, resp.Header.Get("Cache-Control"))
	assert.Empty(t, resp.Header.Get("Content-Encoding"))
	assert.Empty(t, resp.Header.Get("Set-Cookie"))
}
