package admin

import (
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/storage"
)

func TestKeyState(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	tests := []struct {
		name string
		key  storage.SigningKey
		want string
	}{
		{"current stays current", storage.SigningKey{State: storage.KeyCurrent, RetireAt: now.Add(-time.Hour)}, storage.KeyCurrent},
		{"previous without a retire time stays previous", storage.SigningKey{State: storage.KeyPrevious}, storage.KeyPrevious},
		{"previous before its retire time stays previous", storage.SigningKey{State: storage.KeyPrevious, RetireAt: now.Add(time.Second)}, storage.KeyPrevious},
		{"previous at its retire time is retired", storage.SigningKey{State: storage.KeyPrevious, RetireAt: now}, storage.KeyRetired},
		{"previous past its retire time is retired", storage.SigningKey{State: storage.KeyPrevious, RetireAt: now.Add(-time.Second)}, storage.KeyRetired},
		{"retired stays retired", storage.SigningKey{State: storage.KeyRetired}, storage.KeyRetired},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := KeyState(tt.key, now); got != tt.want {
				t.Errorf("KeyState = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestTimestamp(t *testing.T) {
	if got := Timestamp(time.Time{}); got != nil {
		t.Errorf("Timestamp(zero) = %q, want nil", *got)
	}
	at := time.Date(2026, 1, 2, 3, 4, 5, 600, time.FixedZone("x", 2*3600))
	got := Timestamp(at)
	if got == nil || *got != "2026-01-02T01:04:05Z" {
		t.Errorf("Timestamp(%v) = %v, want 2026-01-02T01:04:05Z", at, got)
	}
}
