package main

import (
	"context"
	"crypto/sha256"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	"sigs.k8s.io/controller-runtime/pkg/client"

	controlplanev1 "github.com/capt-dev/capt/api/controlplane/v1beta1"
	"github.com/capt-dev/capt/bench/internal/benchkit"
	"github.com/capt-dev/capt/internal/ekstoken"
	"github.com/capt-dev/capt/internal/testenv"
)

// eksRegion is the region of the bench's EKS endpoints, hence of the tokens' STS host.
const eksRegion = "us-west-2"

// defaultRefresh is --eks-token-refresh-interval's default, what the figures are scaled to.
const defaultRefresh = 10 * time.Minute

// mintFunc is ekstoken.Mint as a CPU profile names it.
const mintFunc = "github.com/capt-dev/capt/internal/ekstoken.Mint"

// useStaticAWSCredentials gives the manager's default chain static keys from the
// environment, and nothing else to find: no shared config of this machine, no IMDS.
// Presigning is local, so the keys need not be real.
func useStaticAWSCredentials() error {
	dir, err := os.MkdirTemp("", "capt-bench-aws-")
	if err != nil {
		return err
	}
	for k, v := range map[string]string{
		"AWS_ACCESS_KEY_ID":           "AKIABENCHEXAMPLE0001",
		"AWS_SECRET_ACCESS_KEY":       "not-a-real-secret-key-for-the-bench",
		"AWS_REGION":                  eksRegion,
		"AWS_CONFIG_FILE":             filepath.Join(dir, "config"),
		"AWS_SHARED_CREDENTIALS_FILE": filepath.Join(dir, "credentials"),
		"AWS_EC2_METADATA_DISABLED":   "true",
	} {
		if err := os.Setenv(k, v); err != nil {
			return err
		}
	}
	for _, k := range []string{"AWS_SESSION_TOKEN", "AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_WEB_IDENTITY_TOKEN_FILE", "AWS_ROLE_ARN",
		"AWS_CONTAINER_CREDENTIALS_FULL_URI", "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI"} {
		if err := os.Unsetenv(k); err != nil {
			return err
		}
	}
	return nil
}

// eksEndpointID is an EKS-like endpoint id (32 hex digits) for a cluster.
func eksEndpointID(name string) string {
	sum := sha256.Sum256([]byte(name))
	return strings.ToUpper(fmt.Sprintf("%x", sum[:16]))
}

// tokensReady counts the control planes whose TokenReady is True.
func tokensReady(ctx context.Context, c client.Client) int {
	list := &controlplanev1.CAPTControlPlaneList{}
	if err := c.List(ctx, list, client.InNamespace(ns)); err != nil {
		return 0
	}
	n := 0
	for _, cp := range list.Items {
		if meta.IsStatusConditionTrue(cp.Status.Conditions, controlplanev1.TokenReadyCondition) {
			n++
		}
	}
	return n
}

// eksWindow is the rest window of an EKS run.
type eksWindow struct {
	n                int
	interval, length time.Duration
	from, to         time.Time
	// clusters are the Cluster names; uids their control planes' UIDs (refresh slots).
	clusters, uids []string
	cpu0, cpu      time.Duration
	profile        *os.File
	requests       []benchkit.Request
	writesByKind   string
	// reconciles are each controller's reconciles in the window.
	reconciles0, reconciles counts
}

// controllers are the manager's controllers, whose reconciles the window counts.
var controllers = []string{"captcontrolplane", "captcluster", "workspacetemplateapply", "workspacetemplate"}

func reconcileCounts() counts {
	c := counts{}
	for _, ctl := range controllers {
		c[ctl] = int(testenv.ReconcileTotal(ctl))
	}
	return c
}

// processCPU is this process's user and system CPU time: the manager's, as the bench
// itself does nothing at rest (its one informer watches Clusters, which do not change).
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// startEKSWindow notes the control planes and starts the CPU clock and profile.
func startEKSWindow(ctx context.Context, c client.Client, cfg config) (*eksWindow, error) {
	w := &eksWindow{n: cfg.n, interval: cfg.eks, length: cfg.rest}
	list := &controlplanev1.CAPTControlPlaneList{}
	if err := c.List(ctx, list, client.InNamespace(ns)); err != nil {
		return nil, err
	}
	for _, cp := range list.Items {
		w.clusters = append(w.clusters, cp.Name)
		w.uids = append(w.uids, string(cp.UID))
	}
	path := cfg.cpuProfile
	if path == "" {
		path = filepath.Join(os.TempDir(), fmt.Sprintf("capt-bench-eks-%d.pprof", cfg.n))
	}
	f, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		_ = f.Close()
		return nil, err
	}
	w.profile = f
	w.reconciles0 = reconcileCounts()
	w.from, w.cpu0 = time.Now(), processCPU()
	return w, nil
}

func (w *eksWindow) stop(requests *benchkit.Requests, writesByKind string) {
	w.to, w.cpu = time.Now(), processCPU()-w.cpu0
	pprof.StopCPUProfile()
	_ = w.profile.Close()
	w.requests = requests.Between(w.from, w.to)
	w.writesByKind, w.reconciles = writesByKind, counts{}
	for ctl, n := range reconcileCounts() {
		if d := n - w.reconciles0[ctl]; d != 0 {
			w.reconciles[ctl] = d
		}
	}
}

// counts are numbers by name.
type counts = benchkit.Counts

// isRefresh says a request replaced a <cluster>-kubeconfig (the people's
// <cluster>-user-kubeconfig holds no token).
func isRefresh(q benchkit.Request) bool {
	return q.Verb == "update" && q.Resource == "secrets" && strings.HasSuffix(q.Name, "-kubeconfig") && !strings.HasSuffix(q.Name, "-user-kubeconfig")
}

// slotOffset is the second of the interval at which ekstoken.RefreshAt replaces the
// tokens of the control plane with this UID.
func slotOffset(uid string, interval time.Duration) int64 {
	return ekstoken.RefreshAt(time.Unix(0, 0), interval, uid).Unix() % int64(interval/time.Second)
}

// slotBefore is the last slot instant at or before t.
func slotBefore(t time.Time, offset int64, interval time.Duration) time.Time {
	period, sec := int64(interval/time.Second), t.Unix()
	return time.Unix(sec-((sec-offset)%period+period)%period, 0)
}

// busiestSlot is the most clusters whose refresh slot (ekstoken.RefreshAt) falls in the
// same second of an interval: the busiest second the schedule gives at rest.
func busiestSlot(uids []string, interval time.Duration) int {
	perSlot := map[int64]int{}
	for _, uid := range uids {
		perSlot[slotOffset(uid, interval)]++
	}
	most := 0
	for _, n := range perSlot {
		most = max(most, n)
	}
	return most
}

// mintCPU reads from the window's CPU profile the CPU time in samples under
// ekstoken.Mint and in all samples (go tool pprof, cumulative).
func (w *eksWindow) mintCPU() (mint, total time.Duration, err error) {
	out, err := exec.Command("go", "tool", "pprof", "-top", "-cum", "-unit=ms", "-nodecount=100000", w.profile.Name()).Output()
	if err != nil {
		return 0, 0, fmt.Errorf("go tool pprof: %w", err)
	}
	for _, line := range strings.Split(string(out), "\n") {
		if _, rest, ok := strings.Cut(line, "Total samples = "); ok {
			total, _ = parseMillis(strings.Fields(rest)[0])
		}
		if f := strings.Fields(line); len(f) == 6 && f[5] == mintFunc {
			mint, _ = parseMillis(f[3])
		}
	}
	if total == 0 {
		return 0, 0, fmt.Errorf("no samples in %s", w.profile.Name())
	}
	return mint, total, nil
}

func parseMillis(s string) (time.Duration, error) {
	v, err := strconv.ParseFloat(strings.TrimSuffix(s, "ms"), 64)
	return time.Duration(v * float64(time.Millisecond)), err
}

// report prints the rest window's figures, and the rates scaled to the default
// interval: at rest every refresh-driven figure goes as 1/interval.
func (w *eksWindow) report(out io.Writer) {
	secs := w.to.Sub(w.from).Seconds()
	intervals := w.to.Sub(w.from).Seconds() / w.interval.Seconds()
	scale := w.interval.Seconds() / defaultRefresh.Seconds()

	byVerb, writes := counts{}, counts{}
	perSecond := map[int64]int{}
	perCluster := map[string]int{}
	refreshes, reads := 0, 0
	uidOf := map[string]string{}
	for i, name := range w.clusters {
		uidOf[name] = w.uids[i]
	}
	// Each refresh is matched with its cluster's slot: how late it came, and whether the
	// slot lies in the window (a refresh in the first seconds may be a late one for the
	// slot before: the creation storm's queue draining).
	var lateness, steady []time.Duration
	refreshedSlots := 0
	for _, q := range w.requests {
		byVerb[q.Verb+" "+q.Resource]++
		if q.IsWrite() {
			writes[q.Verb+" "+q.Resource]++
			perSecond[q.At.Unix()]++
		} else if q.Verb == "get" || q.Verb == "list" {
			reads++
		}
		if isRefresh(q) {
			name := strings.TrimSuffix(q.Name, "-kubeconfig")
			refreshes++
			perCluster[name]++
			slot := slotBefore(q.At, slotOffset(uidOf[name], w.interval), w.interval)
			lateness = append(lateness, q.At.Sub(slot))
			if !slot.Before(w.from.Add(w.interval)) {
				// After the window's first interval: the refreshes alone, without what
				// was left of creation.
				steady = append(steady, q.At.Sub(slot))
			}
			if !slot.Before(w.from) {
				refreshedSlots++
			}
		}
	}
	slices.Sort(lateness)
	slices.Sort(steady)
	slotsInWindow := 0
	for _, uid := range w.uids {
		off := slotOffset(uid, w.interval)
		for t := slotBefore(w.to.Add(-time.Nanosecond), off, w.interval); !t.Before(w.from); t = t.Add(-w.interval) {
			slotsInWindow++
		}
	}
	totalWrites := 0
	for _, n := range writes {
		totalWrites += n
	}
	lo, hi := -1, 0
	for _, name := range w.clusters {
		k := perCluster[name]
		if lo < 0 || k < lo {
			lo = k
		}
		hi = max(hi, k)
	}
	busiest, busiestAt := 0, int64(0)
	for s, n := range perSecond {
		if n > busiest || n == busiest && s < busiestAt {
			busiest, busiestAt = n, s
		}
	}
	mint, profiled, profErr := w.mintCPU()
	perMint := time.Duration(0)
	if refreshes > 0 {
		perMint = mint / time.Duration(refreshes)
	}
	cpuShare := 100 * w.cpu.Seconds() / secs
	writesPerSec := float64(totalWrites) / secs

	fmt.Fprintf(out, "EKS token refresh: %d clusters, refresh interval %s (shortened from the default %s), rest window %s (%.2f intervals). Machine: %d CPUs (%s/%s).\n\n",
		w.n, w.interval, defaultRefresh, w.to.Sub(w.from).Round(time.Millisecond), intervals, runtime.NumCPU(), runtime.GOOS, runtime.GOARCH)
	fmt.Fprintf(out, "| figure | measured at %s | scaled to %s (× %.3f) |\n|---|---|---|\n", w.interval, defaultRefresh, scale)
	row := func(name, measured, scaled string) { fmt.Fprintf(out, "| %s | %s | %s |\n", name, measured, scaled) }
	row("writes in the window, by verb and resource (request log)", writes.String(), "")
	row("writes in the window, by verb and kind (the manager's client)", w.writesByKind, "")
	row("writes per second", fmt.Sprintf("%.2f", writesPerSec), fmt.Sprintf("%.2f", writesPerSec*scale))
	row("<cluster>-kubeconfig updates (refreshes)", fmt.Sprint(refreshes), "")
	row("refreshes per cluster per interval", fmt.Sprintf("%.3f (per cluster in %.2f intervals: min %d, max %d)", float64(refreshes)/float64(w.n)/intervals, intervals, lo, hi), "")
	row("refresh slots in the window, and refreshes made for them", fmt.Sprintf("%d slots, %d refreshed (%.3f per slot); %d refreshes were late ones for the slot before the window",
		slotsInWindow, refreshedSlots, float64(refreshedSlots)/float64(max(slotsInWindow, 1)), refreshes-refreshedSlots), "")
	row("refresh behind its slot, p50 / p99 / max", fmt.Sprintf("%s / %s / %s", benchkit.Percentile(lateness, 50), benchkit.Percentile(lateness, 99), benchkit.Percentile(lateness, 100)), "")
	row("the same after the window's first interval", fmt.Sprintf("%s / %s / %s (%d refreshes)", benchkit.Percentile(steady, 50), benchkit.Percentile(steady, 99), benchkit.Percentile(steady, 100), len(steady)), "")
	row("refreshes per cluster per hour", fmt.Sprintf("%.1f", float64(refreshes)/float64(w.n)/secs*3600), fmt.Sprintf("%.1f", float64(refreshes)/float64(w.n)/secs*3600*scale))
	row("busiest second's writes (mean per second)", fmt.Sprintf("%d at %s (%.2f)", busiest, time.Unix(busiestAt, 0).Format("15:04:05"), writesPerSec), "")
	row("most clusters sharing a refresh slot (the busiest second the schedule gives)", fmt.Sprint(busiestSlot(w.uids, w.interval)), fmt.Sprint(busiestSlot(w.uids, defaultRefresh)))
	row("requests in the window, by verb and resource", byVerb.String(), "")
	row("reads (get, list) per refresh", fmt.Sprintf("%.1f (%.1f per second)", float64(reads)/float64(max(refreshes, 1)), float64(reads)/secs), fmt.Sprintf("%.2f per second", float64(reads)/secs*scale))
	row("reconciles in the window, by controller", w.reconciles.String(), "")
	row("CAPTControlPlane reconciles per refresh", fmt.Sprintf("%.2f", float64(w.reconciles["captcontrolplane"])/float64(max(refreshes, 1))), "")
	row("manager CPU in the window", fmt.Sprintf("%.2f s (%.2f %% of one core; %.2f ms per refresh)", w.cpu.Seconds(), cpuShare, w.cpu.Seconds()*1000/float64(max(refreshes, 1))),
		fmt.Sprintf("%.3f %% of one core", cpuShare*scale))
	if profErr != nil {
		row("of which in ekstoken.Mint (CPU profile)", "n/a: "+profErr.Error(), "")
		return
	}
	row("of which in ekstoken.Mint (CPU profile)", fmt.Sprintf("%.2f s of %.2f s profiled (%.1f %%); %s per mint", mint.Seconds(), profiled.Seconds(),
		100*mint.Seconds()/profiled.Seconds(), perMint.Round(time.Microsecond)), fmt.Sprintf("%.4f %% of one core", 100*mint.Seconds()/secs*scale))
	fmt.Fprintf(out, "\nCPU profile of the window: %s (go tool pprof -top -cum %s)\n", w.profile.Name(), w.profile.Name())
}
