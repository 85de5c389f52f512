package packaging

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/rand"
	"debug/elf"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/gatehouse-dev/gatehouse/internal/testutil"
)

// staticBinary builds gatehouse as the image ships it: CGO_ENABLED=0,
// -trimpath, stripped, a release version set by -ldflags. Built once per run.
var staticBinary = sync.OnceValues(func() (string, error) {
	dir, err := os.MkdirTemp("", "gatehouse-packaging-")
	if err != nil {
		return "", err
	}
	bin := filepath.Join(dir, "gatehouse")
	cmd := exec.Command("go", "build", "-trimpath",
		"-ldflags", "-s -w -X github.com/gatehouse-dev/gatehouse/internal/cli.Version=v0.0.0-imagetest",
		"-o", bin, "../cmd/gatehouse")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build: %v: %s", err, out)
	}
	return bin, nil
})

func buildStatic(t *testing.T) string {
	t.Helper()
	bin, err := staticBinary()
	if err != nil {
		t.Fatal(err)
	}
	return bin
}

func TestMain(m *testing.M) {
	code := m.Run()
	testutil.ReportSkips("packaging")
	if bin, err := staticBinary(); err == nil && bin != "" {
		_ = os.RemoveAll(filepath.Dir(bin))
	}
	os.Exit(code)
}

// TestSystemdUnit: the unit passes systemd-analyze verify with no warning,
// its binary path pointed at a freshly built gatehouse (verify checks that
// ExecStart is executable).
func TestSystemdUnit(t *testing.T) {
	analyze, err := exec.LookPath("systemd-analyze")
	if err != nil {
		testutil.SkipSuite(t, "systemd-analyze not installed (Debian: apt-get install systemd)")
	}
	unit, err := os.ReadFile("systemd/gatehouse.service")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"DynamicUser=yes", "StateDirectory=gatehouse", "ProtectSystem=strict", "NoNewPrivileges=yes", "CapabilityBoundingSet=\n",
		"SystemCallFilter=@system-service", "SystemCallFilter=~@privileged",
		"ExecStart=/usr/local/bin/gatehouse serve"} {
		if !bytes.Contains(unit, []byte(want)) {
			t.Errorf("the unit lacks %q", want)
		}
	}
	bin := buildStatic(t)
	path := filepath.Join(t.TempDir(), "gatehouse.service")
	unit = bytes.ReplaceAll(unit, []byte("/usr/local/bin/gatehouse"), []byte(bin))
	if err := os.WriteFile(path, unit, 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(analyze, "verify", path).CombinedOutput()
	if err != nil || len(bytes.TrimSpace(out)) > 0 {
		t.Fatalf("systemd-analyze verify: %v\n%s", err, out)
	}
}

// TestImage builds the container image from the Containerfile with podman
// (its final stage fed a root file system that packaging/rootfs.sh made from
// a static binary built here, as the image's own build stage makes it),
// checks its configuration, exports its file system, and runs gatehouse
// from it with chroot: it is static, runs as the non-root user, finds its CA
// certificates, and serves and answers its own health check.
func TestImage(t *testing.T) {
	podman, err := exec.LookPath("podman")
	if err != nil {
		testutil.SkipSuite(t, "podman not installed (Debian: apt-get install podman)")
	}
	if os.Geteuid() != 0 {
		testutil.SkipSuite(t, "chroot into the image's file system needs root")
	}
	bin := buildStatic(t)
	assertStatic(t, bin)

	ctxDir := t.TempDir()
	if out, err := exec.Command("sh", "rootfs.sh", filepath.Join(ctxDir, "image"), bin).CombinedOutput(); err != nil {
		t.Fatalf("rootfs.sh: %v: %s", err, out)
	}
	tag := "localhost/gatehouse-imagetest:" + randomHex(t)
	run := func(args ...string) string {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
		defer cancel()
		out, err := exec.CommandContext(ctx, podman, args...).Output()
		if err != nil {
			var stderr []byte
			if ee := (*exec.ExitError)(nil); errors.As(err, &ee) {
				stderr = ee.Stderr
			}
			t.Fatalf("podman %s: %v: %s", strings.Join(args, " "), err, stderr)
		}
		return strings.TrimSpace(string(out))
	}
	run("build", "--quiet", "--format", "docker", "--pull=never", "--build-arg", "ROOTFS=rootfs-from-context",
		"-f", "../Containerfile", "-t", tag, ctxDir)
	t.Cleanup(func() { _ = exec.Command(podman, "rmi", "--force", tag).Run() })

	var inspect []struct {
		Config struct {
			User         string
			Entrypoint   []string
			Cmd          []string
			Env          []string
			ExposedPorts map[string]any
		}
		Healthcheck struct{ Test []string }
	}
	if err := json.Unmarshal([]byte(run("image", "inspect", tag)), &inspect); err != nil || len(inspect) != 1 {
		t.Fatalf("podman image inspect: %v", err)
	}
	c := inspect[0].Config
	if c.User != "65532:65532" || strings.Join(c.Entrypoint, " ") != "/usr/local/bin/gatehouse" || strings.Join(c.Cmd, " ") != "serve" {
		t.Errorf("image config: user %q, entrypoint %q, cmd %q", c.User, c.Entrypoint, c.Cmd)
	}
	if _, ok := c.ExposedPorts["8080/tcp"]; !ok {
		t.Errorf("exposed ports %v, want 8080/tcp", c.ExposedPorts)
	}
	if hc := inspect[0].Healthcheck.Test; strings.Join(hc, " ") != "CMD /usr/local/bin/gatehouse healthcheck" {
		t.Fatalf("health check %q", hc) // run below as it stands
	}
	if !strings.Contains(strings.Join(c.Env, " "), "GATEHOUSE_ADDR=0.0.0.0:8080") {
		t.Errorf("env %q lacks GATEHOUSE_ADDR", c.Env)
	}

	// The image's file system, as podman export writes it (nothing runs).
	id := run("create", tag)
	t.Cleanup(func() { _ = exec.Command(podman, "rm", "--force", id).Run() })
	root := t.TempDir()
	cmd := exec.Command(podman, "export", id)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	files := extract(t, stdout, root)
	if err := cmd.Wait(); err != nil {
		t.Fatalf("podman export: %v", err)
	}
	for _, f := range []string{"usr/local/bin/gatehouse", "etc/ssl/certs/ca-certificates.crt", "etc/passwd", "etc/group", "var/lib/gatehouse"} {
		if !files[f] {
			t.Errorf("the image lacks /%s", f)
		}
	}
	for f := range files {
		if strings.HasPrefix(f, "bin/") || f == "bin" || strings.HasSuffix(f, "/sh") {
			t.Errorf("the image has a shell or /bin: /%s", f)
		}
	}
	assertStatic(t, filepath.Join(root, "usr/local/bin/gatehouse"))
	if fi, err := os.Stat(filepath.Join(root, "var/lib/gatehouse")); err != nil || !fi.IsDir() {
		t.Fatalf("state directory: %v", err)
	} else if st, ok := fi.Sys().(*syscall.Stat_t); !ok || st.Uid != 65532 {
		t.Errorf("the state directory is not the image user's: %+v", fi.Sys())
	}

	env := []string{"HOME=/var/lib/gatehouse"} // the image's environment, not the host's
	chroot := func(user string, args ...string) (string, error) {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		full := append([]string{"--userspec=" + user, root, "/usr/local/bin/gatehouse"}, args...)
		cmd := exec.CommandContext(ctx, "chroot", full...)
		cmd.Env = env
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	if out, err := chroot("65532:65532", "--version"); err != nil || out != "gatehouse v0.0.0-imagetest\n" {
		t.Errorf("gatehouse --version in the image: %v: %q", err, out)
	}
	if out, err := chroot("65532:65532", "healthcheck", "--tls-roots", "--url", ""); err != nil || !strings.HasPrefix(out, "system CA certificates: ") {
		t.Errorf("healthcheck --tls-roots in the image: %v: %q", err, out)
	}

	// serve as the image's user, in its state directory, on a free port
	// given as GATEHOUSE_ADDR, and the image's HEALTHCHECK as it runs.
	addr := testutil.FreeAddr(t)
	env = append(env, "GATEHOUSE_ADDR="+addr)
	ctx, cancel := context.WithCancel(context.Background())
	serve := exec.CommandContext(ctx, "chroot", "--userspec=65532:65532", root, "/usr/local/bin/gatehouse", "serve",
		"--db", "sqlite:/var/lib/gatehouse/gatehouse.db")
	serve.Env = env
	var logs bytes.Buffer
	serve.Stdout, serve.Stderr = &logs, &logs
	if err := serve.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { cancel(); _ = serve.Wait() }()
	url := "http://" + addr + "/readyz"
	var out string
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		if out, err = chroot("65532:65532", inspect[0].Healthcheck.Test[2:]...); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("healthcheck in the image: %v: %q; serve's log: %s", err, out, logs.String())
		}
	}
	if resp, err := http.Get(url); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s from the host: %v", url, err)
	}
	if fi, err := os.Stat(filepath.Join(root, "var/lib/gatehouse/gatehouse.db.key")); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("serve's master key file in the state directory: %v", err)
	}
}

// TestImageWithoutCABundle: the CA check of the image test can fail — the
// same binary in a file system without the bundle says so.
func TestImageWithoutCABundle(t *testing.T) {
	if os.Geteuid() != 0 {
		testutil.SkipSuite(t, "chroot needs root")
	}
	bin := buildStatic(t)
	image := filepath.Join(t.TempDir(), "image")
	root := filepath.Join(image, "root")
	if out, err := exec.Command("sh", "rootfs.sh", image, bin).CombinedOutput(); err != nil {
		t.Fatalf("rootfs.sh: %v: %s", err, out)
	}
	if err := os.Remove(filepath.Join(root, "etc/ssl/certs/ca-certificates.crt")); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("chroot", "--userspec=65532:65532", root, "/usr/local/bin/gatehouse", "healthcheck", "--tls-roots", "--url", "")
	cmd.Env = []string{}
	out, err := cmd.CombinedOutput()
	if err == nil || !strings.Contains(string(out), "no system CA certificates") {
		t.Fatalf("healthcheck --tls-roots without a bundle: %v: %q", err, out)
	}
}

// assertStatic fails unless path is an ELF executable with no interpreter
// and no shared library: it runs on an empty base image.
func assertStatic(t *testing.T, path string) {
	t.Helper()
	f, err := elf.Open(path)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			t.Errorf("%s has a program interpreter: it is dynamically linked", path)
		}
	}
	if libs, _ := f.ImportedLibraries(); len(libs) > 0 {
		t.Errorf("%s needs shared libraries %v", path, libs)
	}
}

// extract unpacks a tar stream into dir (regular files, directories and
// symbolic links, with their modes and owners) and returns the paths seen.
func extract(t *testing.T, r io.Reader, dir string) map[string]bool {
	t.Helper()
	seen := map[string]bool{}
	tr := tar.NewReader(r)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return seen
		}
		if err != nil {
			t.Fatalf("export: %v", err)
		}
		name := strings.Trim(filepath.Clean("/"+h.Name), "/")
		if name == "" {
			continue
		}
		seen[name] = true
		dst := filepath.Join(dir, name)
		switch h.Typeflag {
		case tar.TypeDir:
			if err = os.MkdirAll(dst, 0o755); err == nil {
				err = os.Chmod(dst, h.FileInfo().Mode()&(os.ModePerm|os.ModeSticky))
			}
		case tar.TypeReg:
			var f *os.File
			if f, err = os.OpenFile(dst, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, os.FileMode(h.Mode).Perm()); err == nil {
				_, err = io.Copy(f, tr)
				if cerr := f.Close(); err == nil {
					err = cerr
				}
			}
		case tar.TypeSymlink:
			err = os.Symlink(h.Linkname, dst)
		default:
			continue
		}
		if err == nil {
			err = os.Lchown(dst, h.Uid, h.Gid)
		}
		if err != nil {
			t.Fatalf("export %s: %v", name, err)
		}
	}
}

func randomHex(t *testing.T) string {
	b := make([]byte, 6)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}

// TestCompose: the compose file runs two gatehouse instances of the image
// on one PostgreSQL, with the same issuer and master key, after PostgreSQL
// is healthy.
func TestCompose(t *testing.T) {
	var doc struct {
		Services map[string]struct {
			Image       string
			Build       *struct{ Context, Dockerfile string }
			Environment map[string]string
			DependsOn   map[string]struct{ Condition string } `yaml:"depends_on"`
			Healthcheck *struct{ Test []string }
			ReadOnly    bool     `yaml:"read_only"`
			CapDrop     []string `yaml:"cap_drop"`
			Ports       []string
		}
	}
	data, err := os.ReadFile("compose/compose.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(data, &doc); err != nil {
		t.Fatal(err)
	}
	pg, ok := doc.Services["postgres"]
	if !ok || pg.Healthcheck == nil {
		t.Fatalf("no postgres service with a health check: %+v", doc.Services)
	}
	var instances []string
	for name, s := range doc.Services {
		if !strings.HasPrefix(name, "gatehouse-") {
			continue
		}
		instances = append(instances, name)
		if s.Build == nil || s.Build.Dockerfile != "Containerfile" {
			t.Errorf("%s is not built from the Containerfile", name)
		} else if _, err := os.Stat(filepath.Join("compose", s.Build.Context, s.Build.Dockerfile)); err != nil {
			t.Errorf("%s: build context: %v", name, err)
		}
		if s.DependsOn["postgres"].Condition != "service_healthy" {
			t.Errorf("%s does not wait for a healthy postgres", name)
		}
		if !strings.HasPrefix(s.Environment["GATEHOUSE_DB"], "postgres://gatehouse:") || !strings.Contains(s.Environment["GATEHOUSE_DB"], "@postgres:5432/gatehouse") {
			t.Errorf("%s: GATEHOUSE_DB %q", name, s.Environment["GATEHOUSE_DB"])
		}
		if s.Environment["GATEHOUSE_MASTER_KEY"] == "" || s.Environment["GATEHOUSE_ISSUER"] == "" || !s.ReadOnly || len(s.CapDrop) == 0 {
			t.Errorf("%s: %+v", name, s)
		}
		// The published port leads to the one the image's serve listens on.
		if len(s.Ports) != 1 || !strings.HasSuffix(s.Ports[0], ":"+imagePort(t)) || s.Environment["GATEHOUSE_ADDR"] != "" {
			t.Errorf("%s publishes %v, the image listens on %s", name, s.Ports, imagePort(t))
		}
	}
	if len(instances) != 2 {
		t.Fatalf("gatehouse instances %v, want 2", instances)
	}
	a, b := doc.Services[instances[0]], doc.Services[instances[1]]
	for _, k := range []string{"GATEHOUSE_ISSUER", "GATEHOUSE_MASTER_KEY", "GATEHOUSE_DB"} {
		if a.Environment[k] != b.Environment[k] {
			t.Errorf("the instances differ in %s", k)
		}
	}
}

// TestKubernetes: the example's Deployment takes the master key and the
// database from the Secret, is ready on /readyz, runs as the image's
// non-root user, and the Service selects its pods.
func TestKubernetes(t *testing.T) {
	f, err := os.Open("kubernetes/gatehouse.yaml")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	kinds := map[string]map[string]any{}
	dec := yaml.NewDecoder(f)
	for {
		var doc map[string]any
		if err := dec.Decode(&doc); err == io.EOF {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		kinds[fmt.Sprint(doc["kind"])] = doc
	}
	for _, k := range []string{"Secret", "Deployment", "Service"} {
		if kinds[k] == nil {
			t.Fatalf("no %s", k)
		}
	}
	get := func(v any, path ...any) any {
		for _, p := range path {
			switch p := p.(type) {
			case string:
				m, _ := v.(map[string]any)
				v = m[p]
			case int:
				l, _ := v.([]any)
				if p >= len(l) {
					return nil
				}
				v = l[p]
			}
		}
		return v
	}
	dep := kinds["Deployment"]
	c := get(dep, "spec", "template", "spec", "containers", 0)
	if get(c, "readinessProbe", "httpGet", "path") != "/readyz" || get(c, "livenessProbe", "httpGet", "path") != "/healthz" {
		t.Errorf("probes: %v", c)
	}
	if get(dep, "spec", "template", "spec", "securityContext", "runAsUser") != 65532 || get(c, "securityContext", "readOnlyRootFilesystem") != true {
		t.Errorf("security context: %v", get(dep, "spec", "template", "spec", "securityContext"))
	}
	secret := kinds["Secret"]
	secretKeys := get(secret, "stringData").(map[string]any)
	refs := map[string]bool{}
	for _, e := range get(c, "env").([]any) {
		if ref := get(e, "valueFrom", "secretKeyRef"); ref != nil {
			if get(ref, "name") != get(secret, "metadata", "name") || secretKeys[fmt.Sprint(get(ref, "key"))] == nil {
				t.Errorf("env %v refers to no key of the Secret", e)
			}
			refs[fmt.Sprint(get(e, "name"))] = true
		}
	}
	if !refs["GATEHOUSE_MASTER_KEY"] || !refs["GATEHOUSE_DB"] {
		t.Errorf("the master key and the database do not come from the Secret: %v", refs)
	}
	sel := get(kinds["Service"], "spec", "selector", "app.kubernetes.io/name")
	if sel == nil || sel != get(dep, "spec", "template", "metadata", "labels", "app.kubernetes.io/name") {
		t.Errorf("the Service selects %v", sel)
	}
	if get(kinds["Service"], "spec", "ports", 0, "targetPort") != get(c, "ports", 0, "name") {
		t.Error("the Service's target port is not the container's")
	}
	// The container port is where serve listens: GATEHOUSE_ADDR's port.
	for _, e := range get(c, "env").([]any) {
		if get(e, "name") == "GATEHOUSE_ADDR" {
			if _, port, _ := net.SplitHostPort(fmt.Sprint(get(e, "value"))); port != fmt.Sprint(get(c, "ports", 0, "containerPort")) || port != imagePort(t) {
				t.Errorf("GATEHOUSE_ADDR %v, containerPort %v, the image's port %s", get(e, "value"), get(c, "ports", 0, "containerPort"), imagePort(t))
			}
		}
	}
}

// imagePort is the port of the Containerfile's GATEHOUSE_ADDR, where the
// image's serve listens.
func imagePort(t *testing.T) string {
	t.Helper()
	data, err := os.ReadFile("../Containerfile")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`GATEHOUSE_ADDR=0\.0\.0\.0:(\d+)`).FindSubmatch(data)
	if m == nil || !bytes.Contains(data, []byte("EXPOSE "+string(m[1]))) {
		t.Fatalf("the Containerfile does not listen on 0.0.0.0 and expose that port")
	}
	return string(m[1])
}
