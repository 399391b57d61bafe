package rules

import (
	"embed"
	"io/fs"
)

//go:embed default
var defaultPack embed.FS

// DefaultFS returns the default rule pack embedded in the binary.
func DefaultFS() fs.FS {
	sub, err := fs.Sub(defaultPack, "default")
	if err != nil {
		panic(err) // the embedded folder exists at build time
	}
	return sub
}

// Default compiles the embedded default rule pack.
func Default() (*Set, error) { return Load(DefaultFS(), ".") }
