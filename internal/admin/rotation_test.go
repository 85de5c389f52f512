package admin

import (
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/storage"
)

func TestRotationMaxTokenLifetime(t *testing.T) {
	api := func(d time.Duration) storage.API { return storage.API{TokenLifetime: d} }
	tests := []struct {
		name string
		apis []storage.API
		want time.Duration
	}{
		{"no APIs: the default lifetime", nil, DefaultTokenLifetime + RotationMargin},
		{"shorter lifetimes: the default", []storage.API{api(time.Minute), api(time.Hour)}, DefaultTokenLifetime + RotationMargin},
		{"the longest lifetime", []storage.API{api(time.Hour), api(72 * time.Hour), api(48 * time.Hour)}, 72*time.Hour + RotationMargin},
		{"the maximum lifetime", []storage.API{api(MaxTokenLifetime)}, MaxTokenLifetime + RotationMargin},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := RotationMaxTokenLifetime(tt.apis); got != tt.want {
				t.Errorf("RotationMaxTokenLifetime = %s, want %s", got, tt.want)
			}
		})
	}
}
