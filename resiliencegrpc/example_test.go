package resiliencegrpc_test

import (
	"context"
	"fmt"
	"net"
	"sync/atomic"
	"time"

	"github.com/aragora/resilience/policy"
	"github.com/aragora/resilience/resiliencegrpc"
	"github.com/aragora/resilience/retry"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"
)

type flaky struct {
	healthpb.UnimplementedHealthServer
	calls atomic.Int32
}

func (f *flaky) Check(context.Context, *healthpb.HealthCheckRequest) (*healthpb.HealthCheckResponse, error) {
	if f.calls.Add(1) < 3 {
		return nil, status.Error(codes.Unavailable, "warming up")
	}
	return &healthpb.HealthCheckResponse{Status: healthpb.HealthCheckResponse_SERVING}, nil
}

// A client that retries UNAVAILABLE: the caller sees only the final answer.
func ExampleUnaryClientInterceptor() {
	l, _ := net.Listen("tcp", "127.0.0.1:0")
	srv := grpc.NewServer()
	f := &flaky{}
	healthpb.RegisterHealthServer(srv, f)
	go srv.Serve(l)
	defer srv.Stop()

	r, _ := retry.New(retry.Config{BaseDelay: time.Millisecond})
	unary, err := resiliencegrpc.UnaryClientInterceptor(policy.MustNew("health", r))
	if err != nil {
		panic(err)
	}
	conn, err := grpc.NewClient(l.Addr().String(),
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithDisableRetry(),
		grpc.WithUnaryInterceptor(unary))
	if err != nil {
		panic(err)
	}
	defer conn.Close()

	resp, err := healthpb.NewHealthClient(conn).Check(context.Background(), &healthpb.HealthCheckRequest{})
	fmt.Println(resp.GetStatus(), err, "after", f.calls.Load(), "attempts")
	// Output: SERVING <nil> after 3 attempts
}
