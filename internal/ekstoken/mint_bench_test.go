//go:build unix

package ekstoken

import (
	"context"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/credentials"
)

// BenchmarkMint is the manager's CPU and allocations per EKS token: one presigned STS
// GetCallerIdentity URL with static credentials (no network call), encoded and parsed
// back. Besides ns/op (wall time, which a shared machine stretches) it reports
// cpu-ns/op, the process's CPU time per mint, garbage collection included.
// docs/benchmarks.md ("EKS token refresh") multiplies it by the refreshes of 1,000
// clusters.
//
//	go test -run '^$' -bench Mint -benchtime 20000x ./internal/ekstoken/
func BenchmarkMint(b *testing.B) {
	ctx := context.Background()
	creds := credentials.NewStaticCredentialsProvider("AKIAEXAMPLEKEY000001", "not-a-real-secret", "")
	b.ReportAllocs()
	cpu0 := processCPU(b)
	for b.Loop() {
		if _, err := Mint(ctx, creds, "us-west-2", "bench-cluster"); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(processCPU(b)-cpu0)/float64(b.N), "cpu-ns/op")
}

// processCPU is the test process's user and system CPU time.
func processCPU(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
