package keys

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

func TestParseMasterKey(t *testing.T) {
	// 0xfb 0xff ... encodes to characters that differ between the standard
	// and URL-safe alphabets.
	key := bytes.Repeat([]byte{0xfb, 0xff, 0xbf, 0x01}, MasterKeySize/4)
	tests := []struct {
		name    string
		in      string
		want    []byte
		wantErr string
	}{
		{name: "std padded", in: base64.StdEncoding.EncodeToString(key), want: key},
		{name: "std raw", in: base64.RawStdEncoding.EncodeToString(key), want: key},
		{name: "url padded", in: base64.URLEncoding.EncodeToString(key), want: key},
		{name: "url raw", in: base64.RawURLEncoding.EncodeToString(key), want: key},
		{name: "hex lower", in: hex.EncodeToString(key), want: key},
		{name: "hex upper", in: strings.ToUpper(hex.EncodeToString(key)), want: key},
		{name: "surrounding whitespace", in: "  " + base64.StdEncoding.EncodeToString(key) + "\n", want: key},
		{name: "empty", in: "", wantErr: "empty"},
		{name: "blank", in: " \n", wantErr: "empty"},
		{name: "16 bytes base64", in: base64.StdEncoding.EncodeToString(key[:16]), wantErr: "decodes to 16 bytes"},
		{name: "48 bytes base64", in: base64.StdEncoding.EncodeToString(bytes.Repeat(key, 2)[:48]), wantErr: "decodes to 48 bytes"},
		{name: "31 bytes hex", in: hex.EncodeToString(key[:31]), wantErr: "looks like hex but has 62 characters"},
		{name: "33 bytes hex", in: hex.EncodeToString(append(bytes.Clone(key), 1)), wantErr: "looks like hex but has 66 characters"},
		{name: "not an encoding", in: "this is not a key!", wantErr: "neither base64 nor 64 hex"},
		{name: "64 chars not hex", in: strings.Repeat("z!", 32), wantErr: "neither base64 nor 64 hex"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseMasterKey(tt.in)
			if tt.wantErr != "" {
				if err == nil {
					t.Fatalf("ParseMasterKey succeeded: %x", got)
				}
				if !strings.Contains(err.Error(), tt.wantErr) {
					t.Errorf("error %q does not contain %q", err, tt.wantErr)
				}
				if s := strings.TrimSpace(tt.in); s != "" && strings.Contains(err.Error(), s) {
					t.Errorf("error %q repeats the secret input", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseMasterKey: %v", err)
			}
			if !bytes.Equal(got, tt.want) {
				t.Errorf("ParseMasterKey = %x, want %x", got, tt.want)
			}
		})
	}
}

func TestGenerateMasterKey(t *testing.T) {
	s, err := GenerateMasterKey(rand.Reader)
	if err != nil {
		t.Fatalf("GenerateMasterKey: %v", err)
	}
	key, err := ParseMasterKey(s)
	if err != nil {
		t.Fatalf("ParseMasterKey(GenerateMasterKey()): %v", err)
	}
	if len(key) != MasterKeySize {
		t.Errorf("key is %d bytes", len(key))
	}
	if _, err := GenerateMasterKey(bytes.NewReader(nil)); err == nil {
		t.Error("GenerateMasterKey with an empty random source succeeded")
	}
}

func TestCreateAndLoadKeyFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "master.key")
	key, err := CreateKeyFile(path, rand.Reader)
	if err != nil {
		t.Fatalf("CreateKeyFile: %v", err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if runtime.GOOS != "windows" && fi.Mode().Perm() != 0o600 {
		t.Errorf("key file mode %04o, want 0600", fi.Mode().Perm())
	}
	content, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if want := base64.StdEncoding.EncodeToString(key) + "\n"; string(content) != want {
		t.Errorf("key file holds %q, want base64 and a newline", content)
	}
	loaded, err := LoadKeyFile(path)
	if err != nil {
		t.Fatalf("LoadKeyFile: %v", err)
	}
	if !bytes.Equal(loaded, key) {
		t.Error("LoadKeyFile returned another key than CreateKeyFile")
	}

	// O_EXCL: never overwrite.
	if _, err := CreateKeyFile(path, rand.Reader); !errors.Is(err, fs.ErrExist) {
		t.Errorf("second CreateKeyFile: error %v, want fs.ErrExist", err)
	}
	after, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(after, content) {
		t.Error("second CreateKeyFile changed the existing file")
	}

	if _, err := CreateKeyFile(filepath.Join(dir, "short.key"), bytes.NewReader(nil)); err == nil {
		t.Error("CreateKeyFile with an empty random source succeeded")
	}
	if _, err := os.Stat(filepath.Join(dir, "short.key")); !errors.Is(err, fs.ErrNotExist) {
		t.Error("CreateKeyFile left a file behind after failing")
	}
}

func TestLoadKeyFile(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("no Unix permission bits")
	}
	key := bytes.Repeat([]byte{0xab}, MasterKeySize)
	tests := []struct {
		name    string
		content string
		mode    os.FileMode
		wantErr string
	}{
		{name: "base64 0600", content: base64.StdEncoding.EncodeToString(key) + "\n", mode: 0o600},
		{name: "hex 0400 with whitespace", content: "\n  " + hex.EncodeToString(key) + " \r\n", mode: 0o400},
		{name: "group readable", content: base64.StdEncoding.EncodeToString(key), mode: 0o640, wantErr: "chmod 600"},
		{name: "world readable", content: base64.StdEncoding.EncodeToString(key), mode: 0o604, wantErr: "mode 0604"},
		{name: "group writable", content: base64.StdEncoding.EncodeToString(key), mode: 0o620, wantErr: "accessible by group or others"},
		{name: "bad content", content: "secret-but-wrong", mode: 0o600, wantErr: "decodes to 12 bytes"},
		{name: "empty", content: "", mode: 0o600, wantErr: "empty"},
		{name: "too large", content: strings.Repeat("a", 2000), mode: 0o600, wantErr: "larger than"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "k")
			if err := os.WriteFile(path, []byte(tt.content), 0o600); err != nil {
				t.Fatal(err)
			}
			if err := os.Chmod(path, tt.mode); err != nil {
				t.Fatal(err)
			}
			got, err := LoadKeyFile(path)
			if tt.wantErr != "" {
				if err == nil {
					t.Fatalf("LoadKeyFile succeeded")
				}
				if !strings.Contains(err.Error(), tt.wantErr) || !strings.Contains(err.Error(), path) {
					t.Errorf("error %q should contain %q and the path", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("LoadKeyFile: %v", err)
			}
			if !bytes.Equal(got, key) {
				t.Errorf("LoadKeyFile = %x, want %x", got, key)
			}
		})
	}

	t.Run("missing", func(t *testing.T) {
		_, err := LoadKeyFile(filepath.Join(t.TempDir(), "nope"))
		if !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("error %v, want fs.ErrNotExist", err)
		}
	})
	t.Run("directory", func(t *testing.T) {
		dir := t.TempDir()
		if err := os.Chmod(dir, 0o700); err != nil {
			t.Fatal(err)
		}
		if _, err := LoadKeyFile(dir); err == nil || !strings.Contains(err.Error(), "not a regular file") {
			t.Errorf("error %v, want not a regular file", err)
		}
	})
}
