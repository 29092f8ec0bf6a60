package resiliencehttp_test

import (
	"io"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/aragora/resilience/hedge"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A hedge in the transport's pipeline runs attempts of one request at once:
// the slow first attempt is beaten by the hedged one, whose response the
// caller gets, and the loser's response is closed.
func TestAHedgedAttemptWinsAndTheLoserIsClosed(t *testing.T) {
	release := make(chan struct{})
	srv := newServer(t, func(w http.ResponseWriter, r *http.Request, n int) {
		if n == 1 {
			select { // the slow attempt: it answers once the fast one won, or when cancelled
			case <-release:
			case <-r.Context().Done():
				return
			}
			io.WriteString(w, "slow")
			return
		}
		io.WriteString(w, "fast")
	})
	h, err := hedge.New(hedge.WithDelay(20 * time.Millisecond))
	require.NoError(t, err)
	c := client(t, pipeline(t, h))

	code, body := get(t, c, srv.URL)
	close(release)
	assert.Equal(t, http.StatusOK, code)
	assert.Equal(t, "fast", body)
	assert.EqualValues(t, 2, srv.requests.Load())
}

// Hedged requests in parallel, each of whose attempts may both succeed: every
// caller gets one whole answer, and no attempt's state is shared with
// another's (the race detector watches).
func TestConcurrentHedgedRequestsGetOneAnswerEach(t *testing.T) {
	srv := newServer(t, func(w http.ResponseWriter, r *http.Request, n int) {
		if n%3 == 1 {
			time.Sleep(15 * time.Millisecond) // slower than the hedge's delay, but answers
		}
		io.WriteString(w, "ok")
	})
	h, err := hedge.New(hedge.WithDelay(5*time.Millisecond), hedge.WithMaxHedges(2))
	require.NoError(t, err)
	c := client(t, pipeline(t, h))

	var wg sync.WaitGroup
	for range 20 {
		wg.Go(func() {
			code, body := get(t, c, srv.URL)
			assert.Equal(t, http.StatusOK, code)
			assert.Equal(t, "ok", body)
		})
	}
	wg.Wait()
	assert.Greater(t, int(srv.requests.Load()), 20, "some requests were hedged")
}
