package main

import (
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	"github.com/leadwaycrm/leadway"
	"github.com/leadwaycrm/leadway/oauth"
	"github.com/leadwaycrm/leadway/oauth/filestore"
	"github.com/leadwaycrm/leadway/oauth/redisstore"
	"github.com/redis/go-redis/v9"
	"github.com/spf13/pflag"
)

// installStore is where OAuth installs are kept, as --store chose it.
type installStore struct {
	oauth.Store
	// name says where, for messages: a path, or a redis:// URL without
	// its password.
	name  string
	close func()
}

// addStoreFlag adds --store to fs.
func addStoreFlag(fs *pflag.FlagSet, p *string, what string) {
	fs.StringVar(p, "store", "", what+": a file `path` (file:PATH works too) or redis://[:password@]host:port/db (default $LEADWAY_STORE, else installs.json in the user's config directory, under leadway/)")
}

// defaultStorePath is the file store under the user's config directory,
// such as ~/.config/leadway/installs.json.
func defaultStorePath() (string, error) {
	dir, err := os.UserConfigDir()
	if err != nil {
		return "", usageErrorf("no user config directory (%v): pass --store", err)
	}
	return filepath.Join(dir, "leadway", "installs.json"), nil
}

// openStore opens the store spec names, or the default file store for "".
// A redis:// URL is never echoed: it may hold a password.
func openStore(spec string) (*installStore, error) {
	switch {
	case strings.HasPrefix(spec, "redis://"), strings.HasPrefix(spec, "rediss://"):
		opt, err := redis.ParseURL(spec)
		if err != nil {
			return nil, usageErrorf("--store: not a redis:// or rediss:// URL (redis://[:password@]host:port/db)")
		}
		rdb := redis.NewClient(opt)
		name := "redis"
		if u, err := url.Parse(spec); err == nil {
			name = u.Redacted()
		}
		return &installStore{Store: redisstore.New(rdb), name: name, close: func() { _ = rdb.Close() }}, nil
	case spec == "":
		path, err := defaultStorePath()
		if err != nil {
			return nil, err
		}
		spec = path
	}
	path := strings.TrimPrefix(spec, "file:")
	fs, err := filestore.Open(path)
	if err != nil {
		return nil, usageErrorf("--store: %s", strings.TrimPrefix(err.Error(), "filestore: "))
	}
	return &installStore{Store: fs, name: path, close: func() {}}, nil
}

// storeSpec is --store, else $LEADWAY_STORE.
func storeSpec(flag string, e env) string {
	return firstNonEmpty(flag, e.getenv("LEADWAY_STORE"))
}

// appConfig is the Marketplace app from the environment: its credentials
// are read from LEADWAY_CLIENT_ID and LEADWAY_CLIENT_SECRET only, never
// from a flag, so they stay out of shell history and process lists.
func appConfig(e env, clientID, baseURL string) (*oauth.Config, error) {
	cfg := &oauth.Config{
		ClientID:     firstNonEmpty(clientID, e.getenv("LEADWAY_CLIENT_ID")),
		ClientSecret: e.getenv("LEADWAY_CLIENT_SECRET"),
		BaseURL:      firstNonEmpty(baseURL, e.getenv("LEADWAY_BASE_URL")),
	}
	switch {
	case cfg.ClientID == "":
		return nil, usageErrorf("LEADWAY_CLIENT_ID is not set: export the app's client ID there (or pass --client-id)")
	case cfg.ClientSecret == "":
		return nil, usageErrorf("LEADWAY_CLIENT_SECRET is not set: export the app's client secret there (it is never taken from a flag)")
	}
	return cfg, nil
}

// errStoreAndToken is an upsert told to use both a static token and the
// stored installs.
var errStoreAndToken = errors.New("both LEADWAY_TOKEN and LEADWAY_STORE are set: unset one, or pass --store to use the installs")

// locationManager returns the manager of the stored installs, for a
// command that picks each call's token by its location, and a function
// that releases the store.
func locationManager(e env, spec, baseURL string, opts ...oauth.Option) (*oauth.Manager, func(), error) {
	cfg, err := appConfig(e, "", baseURL)
	if err != nil {
		return nil, nil, fmt.Errorf("%w (needed with --store, to refresh tokens)", err)
	}
	st, err := openStore(spec)
	if err != nil {
		return nil, nil, err
	}
	mgr, err := oauth.NewManager(cfg, st, opts...)
	if err != nil {
		st.close()
		return nil, nil, asUsage(err)
	}
	return mgr, st.close, nil
}

// oauthExitCode maps the failures of OAuth installs to exit codes: a
// refused grant or app credentials are a refusal (3), an unreachable token
// endpoint is trouble (5), a location no install covers is a usage
// mistake (2), a failing store is another failure (1).
func oauthExitCode(err error) (int, bool) {
	var (
		tokenErr   *oauth.TokenError
		noInstall  *oauth.NoInstallError
		storeErr   *oauth.StoreError
		refusedErr *refusedError
	)
	switch {
	case err == nil:
		return 0, false
	case errors.Is(err, oauth.ErrReauthorize), errors.As(err, &refusedErr):
		return exitAPI, true
	case errors.As(err, &noInstall):
		return exitUsage, true
	case errors.As(err, &tokenErr):
		if tokenErr.Temporary || tokenErr.StatusCode < 400 { // unreachable, or an unusable answer
			return exitUnavailable, true
		}
		return exitAPI, true
	case errors.As(err, &storeErr):
		return exitFailure, true
	}
	return 0, false
}

// usesStore reports whether upsert takes its tokens from the installs:
// with --store, or with $LEADWAY_STORE when no LEADWAY_TOKEN is set.
func (f *upsertFlags) usesStore(e env, token string) (bool, error) {
	return usesStore(e, "upsert", f.store, token)
}

// client returns the upsert's client: on the static token, or on the
// installs' tokens, picked by the request's location.
func (f *upsertFlags) client(e env, g *globalFlags, token string, useStore bool, opts []leadway.Option) (*leadway.Client, func(), error) {
	return storeClient(e, g, token, f.store, f.baseURL, useStore, opts)
}

// usesStore reports whether command takes its tokens from the installs:
// with --store, or with $LEADWAY_STORE when no LEADWAY_TOKEN is set.
func usesStore(e env, command, store, token string) (bool, error) {
	switch {
	case store != "":
		return true, nil
	case e.getenv("LEADWAY_STORE") == "":
		return false, nil
	case token != "":
		return false, usageErrorf("%s: %v", command, errStoreAndToken)
	}
	return true, nil
}

// storeClient returns a command's client: on the static token, or on the
// installs' tokens in store, picked by each request's location.
func storeClient(e env, g *globalFlags, token, store, baseURL string, useStore bool, opts []leadway.Option) (*leadway.Client, func(), error) {
	if !useStore {
		c, err := leadway.New(token, opts...)
		if err != nil {
			return nil, nil, asUsage(err)
		}
		return c, func() {}, nil
	}
	mgr, closeStore, err := locationManager(e, storeSpec(store, e), firstNonEmpty(baseURL, e.getenv("LEADWAY_BASE_URL")), managerOptions(e, g)...)
	if err != nil {
		return nil, nil, err
	}
	c, err := leadway.NewFromLocationTokens(mgr, opts...)
	if err != nil {
		closeStore()
		return nil, nil, asUsage(err)
	}
	return c, closeStore, nil
}

// managerOptions are the options of a command's install manager: its log
// goes where the command's does.
func managerOptions(e env, g *globalFlags) []oauth.Option {
	if l := g.logger(e); l != nil {
		return []oauth.Option{oauth.WithLogger(l)}
	}
	return nil
}

// withLoginHint tells how to reconnect an install the token endpoint no
// longer honours.
func withLoginHint(err error) error {
	if errors.Is(err, oauth.ErrReauthorize) {
		return fmt.Errorf("%w (leadway auth login)", err)
	}
	return err
}
