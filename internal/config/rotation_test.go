package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/spf13/pflag"
)

func TestKeyRotationPeriod(t *testing.T) {
	if d := Default().KeyRotationPeriod; d != 90*24*time.Hour {
		t.Errorf("default key-rotation-period %s, want 90 days", d)
	}
	tests := []struct {
		name    string
		env     map[string]string
		args    []string
		file    string
		want    time.Duration
		wantErr string
	}{
		{name: "default", want: 2160 * time.Hour},
		{name: "env", env: map[string]string{"GATEHOUSE_KEY_ROTATION_PERIOD": "720h"}, want: 720 * time.Hour},
		{name: "file", file: "key_rotation_period: 48h\n", want: 48 * time.Hour},
		{name: "flag beats env", env: map[string]string{"GATEHOUSE_KEY_ROTATION_PERIOD": "720h"}, args: []string{"--key-rotation-period", "1h"}, want: time.Hour},
		{name: "0 turns it off", args: []string{"--key-rotation-period", "0"}, want: 0},
		{name: "short, with a short max-age", args: []string{"--key-rotation-period", "3s", "--jwks-max-age", "1s"}, want: 3 * time.Second},
		{name: "exactly twice the max-age", args: []string{"--key-rotation-period", "10m"}, want: 10 * time.Minute},
		{name: "less than twice the max-age", args: []string{"--key-rotation-period", "9m"}, wantErr: "key-rotation-period 9m0s must be 0 (off), or at least 1s and twice jwks-max-age (5m0s)"},
		{name: "within the max-age", args: []string{"--key-rotation-period", "3s", "--jwks-max-age", "3s"}, wantErr: "twice jwks-max-age (3s)"},
		{name: "under a second", args: []string{"--key-rotation-period", "500ms", "--jwks-max-age", "0s"}, wantErr: "at least 1s"},
		{name: "negative", args: []string{"--key-rotation-period", "-1h"}, wantErr: "key-rotation-period -1h0m0s"},
		{name: "not a duration", env: map[string]string{"GATEHOUSE_KEY_ROTATION_PERIOD": "quarterly"}, wantErr: "GATEHOUSE_KEY_ROTATION_PERIOD: \"quarterly\" is not a duration"},
		{name: "reported with the other problems", args: []string{"--key-rotation-period", "1m", "--log-level", "loud"}, wantErr: "log-level"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := ""
			if tt.file != "" {
				path = filepath.Join(t.TempDir(), "g.yaml")
				if err := os.WriteFile(path, []byte(tt.file), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			fs := pflag.NewFlagSet("serve", pflag.ContinueOnError)
			Bind(fs, append(Common, Serve...))
			if err := fs.Parse(tt.args); err != nil {
				t.Fatal(err)
			}
			c, err := Load(path, fs, env(tt.env))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("Load error %v, want %q", err, tt.wantErr)
				}
				if tt.name == "reported with the other problems" && !strings.Contains(err.Error(), "key-rotation-period") {
					t.Errorf("Load error %v lacks key-rotation-period", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if c.KeyRotationPeriod != tt.want {
				t.Errorf("KeyRotationPeriod = %s, want %s", c.KeyRotationPeriod, tt.want)
			}
		})
	}
}
