package resiliencegrpc_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/aragora/resilience/hedge"
	"github.com/aragora/resilience/policy"
	"github.com/aragora/resilience/resiliencegrpc"
	"github.com/aragora/resilience/timeout"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"
)

// lateReceiver is a stream interceptor, chained after ours, whose RecvMsg
// returns a message it received only once the stream's context is done: the
// first message arrives as the attempt's time limit runs out.
func lateReceiver(ctx context.Context, desc *grpc.StreamDesc, cc *grpc.ClientConn, method string, streamer grpc.Streamer, opts ...grpc.CallOption) (grpc.ClientStream, error) {
	cs, err := streamer(ctx, desc, cc, method, opts...)
	if err != nil {
		return nil, err
	}
	return &lateStream{ClientStream: cs, ctx: ctx}, nil
}

type lateStream struct {
	grpc.ClientStream
	ctx   context.Context
	first bool
}

func (s *lateStream) RecvMsg(m any) error {
	err := s.ClientStream.RecvMsg(m)
	if err == nil && !s.first {
		s.first = true
		<-s.ctx.Done()
	}
	return err
}

// A stream whose first message was received is committed, as in gRFC A6:
// when the attempt's time limit runs out at that moment, the stream is not
// opened again, by a retry or by a hedge, and the caller gets the time
// limit's error.
func TestAStreamIsNotRetriedOnceItsFirstMessageWasReceived(t *testing.T) {
	for _, hedged := range []bool{false, true} {
		t.Run(fmt.Sprintf("hedged=%v", hedged), func(t *testing.T) {
			h := &health{watch: func(s grpc.ServerStreamingServer[healthpb.HealthCheckResponse], _ int) error {
				s.Send(serving)
				<-s.Context().Done()
				return nil
			}}
			var fr fastRetry
			to, err := timeout.New(50 * time.Millisecond) // to the first message
			require.NoError(t, err)
			policies := []policy.Policy{fr.policy(t, 2, time.Second), to}
			if hedged {
				hg, err := hedge.New(hedge.WithDelay(time.Millisecond))
				require.NoError(t, err)
				policies = []policy.Policy{fr.policy(t, 2, time.Second), hg, to}
			}
			s, err := resiliencegrpc.StreamClientInterceptor(pipeline(t, policies...))
			require.NoError(t, err)
			c := dial(t, listen(t, h), grpc.WithChainStreamInterceptor(s, lateReceiver))

			stream, err := c.Watch(context.Background(), &healthpb.HealthCheckRequest{})
			require.NoError(t, err)
			_, err = stream.Recv()
			assert.Equal(t, codes.DeadlineExceeded, status.Code(err))
			assert.Equal(t, 1, h.Calls(), "streams opened")
		})
	}
}
