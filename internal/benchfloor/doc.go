// Package benchfloor holds the floors that the policies' benchmarks measure
// against: a policy that only runs the rest of a pipeline, one that reads the
// clock once as a policy timing its calls does, and a pipeline with telemetry
// off. One copy serves every package's benchmarks, so that their floors do
// the same work. It is for tests only.
package benchfloor
