// Package durfmt rounds durations for the messages people read: an error
// says "next trial in 30s", not "next trial in 29.999995431s".
package durfmt
