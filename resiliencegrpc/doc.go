// Package resiliencegrpc runs gRPC clients and servers through a
// [policy.Pipeline], faithful to gRPC's own retry design (gRFC A6): one
// pipeline, one breaker and one retry budget for a service's HTTP and gRPC
// calls alike, with a span per attempt. It is a module of its own, so that
// the root module never requires grpc.
//
// # Clients
//
//	p, err := policy.New("inventory", retryPolicy, breakerPolicy, perAttemptTimeout)
//	unary, err := resiliencegrpc.UnaryClientInterceptor(p)
//	stream, err := resiliencegrpc.StreamClientInterceptor(p)
//	conn, err := grpc.NewClient(target,
//		grpc.WithTransportCredentials(creds), // required: TLS, or insecure.NewCredentials() on loopback
//		grpc.WithDisableRetry(),              // ours replaces gRPC's: never stack the two
//		grpc.WithUnaryInterceptor(unary), grpc.WithStreamInterceptor(stream),
//		grpc.WithStatsHandler(otelgrpc.NewClientHandler()))
//
// Each attempt of a unary RPC is one invoke, with the attempt's context. A
// [Classifier] judges each status with a [Verdict] (the shape of
// resiliencehttp's): [DefaultClassifier] retries UNAVAILABLE, and
// RESOURCE_EXHAUSTED when the server sent pushback, counts UNAVAILABLE,
// DEADLINE_EXCEEDED, INTERNAL, UNKNOWN and RESOURCE_EXHAUSTED against the
// server, and the caller's faults (INVALID_ARGUMENT, NOT_FOUND, …) for it.
// Give a breaker [BreakerClassifier] so that it counts by the verdict. An
// attempt that ran out of its own time limit is retried; the caller's
// deadline never is.
//
// The server's pushback, the grpc-retry-pushback-ms trailer, reaches the
// retry policy through [StatusError]'s RetryAfter: a wait in milliseconds
// replaces its delay (capped by its MaxDelay; 0 leaves its own delay), and a
// negative or malformed value stops it, as A6 says. Each retry carries
// grpc-previous-rpc-attempts in its metadata. When the last attempt fails,
// the caller gets its error as gRPC returned it; a rejection by a policy is
// an error matching [policy.ErrRejected] and the policy's sentinel, with
// status UNAVAILABLE.
//
// What a stream retries is documented on [StreamClientInterceptor]: a
// server-streaming RPC until its first response, other streams only while
// they are opened.
//
// # When to use gRPC's built-in retry instead
//
// gRPC retries by itself when a service config asks it to. It replays
// client-streaming and bidirectional RPCs (it buffers their messages), and
// it can hedge; it records no attempt spans, shares no breaker and no budget
// with anything else, and its policy lives in a service config rather than
// in code. Use it for streams that must be replayed; use these interceptors
// for everything a pipeline should see. Never both on one connection: each
// of our attempts would make up to maxAttempts of its own.
//
// # Telemetry
//
// With otelgrpc's client stats handler on the connection, a call's trace
// reads "<name> execute", one "<name> attempt" per attempt, and under each
// otelgrpc's client span. The attempt spans carry rpc.system, rpc.service,
// rpc.method and rpc.grpc.status_code, and a failed attempt's error.type is
// its code's name, such as "UNAVAILABLE".
//
// # Servers
//
// [UnaryServerInterceptor] and [StreamServerInterceptor] shed load: a rate
// limiter's rejection is answered RESOURCE_EXHAUSTED, a bulkhead's
// UNAVAILABLE, both with a pushback trailer; a time limit DEADLINE_EXCEEDED;
// a panic INTERNAL (gRPC's server would let it end the process).
// [WithMonitor] records every RPC in an slo.Monitor.
package resiliencegrpc
