package cli_test

import (
	"strings"
	"testing"
)

// TestFederationCommands: client federation add, list and remove, on the
// database and through --server alike; client show lists the credentials;
// bad input is the same one-line error both ways.
func TestFederationCommands(t *testing.T) {
	h := newHarness(t)
	r := startServer(t, h)
	id := str(h.object("client", "create", "--name", "deployer"), "client_id")

	k8s := h.object("client", "federation", "add", id, "--issuer", "https://kubernetes.example.com/cluster-1",
		"--subject", "system:serviceaccount:payments:*", "--audience", "https://auth.example.com/",
		"--claim", "kubernetes.io/namespace=payments", "--max-lifetime", "2h")
	if str(k8s, "issuer") != "https://kubernetes.example.com/cluster-1" || str(k8s, "audience") != "https://auth.example.com/" ||
		k8s["claims"].(map[string]any)["kubernetes.io/namespace"] != "payments" || k8s["max_lifetime"] != nil && k8s["max_lifetime"].(interface{ String() string }).String() != "7200" {
		t.Errorf("federation add = %v", k8s)
	}
	var gh map[string]any
	h.asRemote(r, func() {
		gh = h.object("client", "federation", "add", id, "--issuer", "https://token.actions.githubusercontent.com",
			"--subject", "repo:acme/deploy:ref:refs/heads/main", "--claim", "repository_owner=acme")
	})
	if str(gh, "id") == "" || gh["audience"] != nil {
		t.Errorf("remote federation add = %v", gh)
	}

	text := h.ok("client", "show", id)
	for _, want := range []string{"federated:", str(k8s, "id"), "system:serviceaccount:payments:*", "kubernetes.io/namespace=payments",
		"max-lifetime 2h0m0s", str(gh, "id"), "audience (the issuer)", "max-lifetime 1h0m0s (default)"} {
		if !strings.Contains(text, want) {
			t.Errorf("client show lacks %q:\n%s", want, text)
		}
	}
	if feds := h.object("client", "show", id)["federated_credentials"].([]any); len(feds) != 2 {
		t.Errorf("client show --json: %d federated credentials, want 2", len(feds))
	}
	sameReads(t, h, r, [][]string{{"client", "show", id}, {"client", "federation", "list", id}})

	bad := [][]string{
		{"client", "federation", "add", id, "--issuer", "http://issuer.example.com", "--subject", "s"},
		{"client", "federation", "add", id, "--issuer", "https://issuer.example.com", "--subject", "*"},
		{"client", "federation", "add", id, "--issuer", "https://issuer.example.com", "--subject", "s", "--claim", "novalue"},
		{"client", "federation", "add", id, "--issuer", "https://issuer.example.com", "--subject", "s", "--claim", "sub=x"},
		{"client", "federation", "add", id, "--issuer", "https://issuer.example.com", "--subject", "s", "--max-lifetime", "25h"},
		{"client", "federation", "add", id, "--issuer", "https://issuer.example.com", "--subject", "s", "--max-lifetime", "1500ms"},
		{"client", "federation", "add", id, "--issuer", "https://issuer.example.com"},
		{"client", "federation", "add", "missing", "--issuer", "https://issuer.example.com", "--subject", "s"},
		{"client", "federation", "add", id, "--issuer", "https://token.actions.githubusercontent.com",
			"--subject", "repo:acme/deploy:ref:refs/heads/main", "--claim", "repository_owner=acme"},
		{"client", "federation", "list", "missing"},
		{"client", "federation", "remove", id, "fed_missing"},
		{"client", "federation", "remove", "missing", "fed_missing"},
	}
	for _, args := range bad {
		localOut := h.run(args...)
		var remoteOut result
		h.asRemote(r, func() { remoteOut = h.run(args...) })
		expect(t, oneLineError(localOut))
		if localOut != remoteOut {
			t.Errorf("gatehouse %s:\n local  %s\n remote %s", strings.Join(args, " "), localOut, remoteOut)
		}
	}

	h.asRemote(r, func() { h.ok("client", "federation", "remove", id, str(gh, "id")) })
	h.ok("client", "federation", "remove", id, str(k8s, "id"))
	if list := h.array("client", "federation", "list", id); len(list) != 0 {
		t.Errorf("federation list after remove = %v", list)
	}
}
