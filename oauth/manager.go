package oauth

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"sync"
	"time"

	"golang.org/x/oauth2"
)

// Manager keeps the installs of one Marketplace app in a [Store] and hands
// out live access tokens per location. It is safe for concurrent use and
// meant to be shared: one per app per process. Several processes that
// share a store share the installs safely (see the package
// documentation).
type Manager struct {
	cfg   Config
	store Store
	opts  options

	cacheMu   sync.RWMutex
	cache     map[string]*entry    // by location: the token calls use until refreshAt
	refused   map[string]string    // by location: the access token the API refused
	companyOf map[string]string    // by location: the key of the Company install approving it
	forcedAt  map[string]time.Time // by install key: the last refresh a refusal forced

	flightMu sync.Mutex
	flights  map[string]*flight

	unsavedMu sync.Mutex
	unsaved   map[string]*Install // refreshed installs the store refused to save

	secretsMu sync.Mutex
	listeners []func(string)
}

// entry is a location's token as calls use it, until refreshAt.
type entry struct {
	tok       *oauth2.Token
	refreshAt time.Time
	// validUntil is when the token stops being safe to send; a store that
	// fails before then does not fail the calls.
	validUntil time.Time
}

// NewManager returns a manager of cfg's installs in store. cfg is copied;
// it needs ClientID and ClientSecret, and its URLs must be https (or http
// to a loopback host).
func NewManager(cfg *Config, store Store, opts ...Option) (*Manager, error) {
	c, err := cfg.checked()
	if err != nil {
		return nil, err
	}
	if store == nil {
		return nil, errors.New("oauth: nil Store (use NewMemoryStore for one process)")
	}
	o := defaultOptions()
	for _, opt := range opts {
		if err := opt(&o); err != nil {
			return nil, err
		}
	}
	return &Manager{
		cfg: c, store: store, opts: o,
		cache: map[string]*entry{}, refused: map[string]string{},
		companyOf: map[string]string{}, forcedAt: map[string]time.Time{},
		flights: map[string]*flight{}, unsaved: map[string]*Install{},
	}, nil
}

// maxCodeLen bounds an authorization code.
const maxCodeLen = 4096

// Exchange redeems an authorization code (form-encoded POST /oauth/token,
// grant_type authorization_code) and stores the install under its
// [Install.Key], replacing an earlier install of the same location or
// company. A code that is wrong, expired or used already fails with a
// [*TokenError] matching [ErrReauthorize]. When the store fails to save,
// Exchange returns the install with a [*StoreError], so that it is not
// lost.
func (m *Manager) Exchange(ctx context.Context, code string) (*Install, error) {
	if code == "" || len(code) > maxCodeLen || !validValue(code) {
		return nil, errors.New("oauth: the authorization code is empty, too long or contains white space (not shown)")
	}
	form := m.clientForm("authorization_code")
	form.Set("code", code)
	if m.cfg.RedirectURL != "" {
		form.Set("redirect_uri", m.cfg.RedirectURL)
	}
	if m.opts.userType != "" {
		form.Set("user_type", string(m.opts.userType))
	}
	c := &call{op: "exchange", path: "/oauth/token", form: form, secrets: []string{m.cfg.ClientSecret, code}}
	in, err := m.withRetries(ctx, nil, c, func(ctx context.Context) (*Install, error) {
		return m.redeem(ctx, c, nil)
	})
	if err != nil {
		return nil, err
	}
	m.report(in.RefreshToken)
	key := in.Key()
	if err := m.store.Put(ctx, key, in); err != nil {
		return in.clone(), &StoreError{Op: "save", Key: key, Err: err}
	}
	m.forget(in)
	m.opts.logger.Info("oauth: installed", "install", in)
	return in.clone(), nil
}

// redeem makes one request to the token endpoint and reads its answer.
// prev is the install a refresh replaces, nil for an exchange.
func (m *Manager) redeem(ctx context.Context, c *call, prev *Install) (*Install, error) {
	data, sent, err := m.send(ctx, c)
	if err != nil {
		return nil, err
	}
	in, err := parseAnswer(data, sent, true)
	if err == nil {
		err = complete(in, prev)
	}
	if err != nil {
		return nil, &TokenError{Op: c.op, Install: c.who, StatusCode: 200, Err: err}
	}
	return in, nil
}

// complete fills what a refresh answer leaves out from the install it
// replaces, and checks that the answer is a whole install of one kind.
func complete(in, prev *Install) error {
	if prev != nil {
		for _, f := range []struct {
			name      string
			got, want *string
		}{{"locationId", &in.LocationID, &prev.LocationID}, {"companyId", &in.CompanyID, &prev.CompanyID}} {
			if *f.got != "" && *f.want != "" && *f.got != *f.want {
				return fmt.Errorf("the answer's %s is %s, not %s's", f.name, *f.got, prev.describe())
			}
			if *f.got == "" {
				*f.got = *f.want
			}
		}
		in.UserType = UserType(orDefault(string(in.UserType), string(prev.UserType)))
		in.UserID = orDefault(in.UserID, prev.UserID)
		in.PlanID = orDefault(in.PlanID, prev.PlanID)
		in.Scope = orDefault(in.Scope, prev.Scope)
		if len(in.ApprovedLocations) == 0 {
			in.ApprovedLocations = slices.Clone(prev.ApprovedLocations)
		}
	}
	if in.UserType == "" && in.LocationID != "" {
		in.UserType = Location
	} else if in.UserType == "" && in.CompanyID != "" {
		in.UserType = Company
	}
	switch {
	case in.UserType != Location && in.UserType != Company:
		return fmt.Errorf("the answer's userType %q is neither Location nor Company", in.UserType)
	case in.UserType == Location && in.LocationID == "":
		return errors.New("the answer is a Location install without a locationId")
	case in.UserType == Company && in.CompanyID == "":
		return errors.New("the answer is a Company install without a companyId")
	}
	return nil
}

// clientForm starts a token request with the app's credentials, as
// HighLevel's SDKs send them: in the form.
func (m *Manager) clientForm(grant string) url.Values {
	return url.Values{
		"client_id":     {m.cfg.ClientID},
		"client_secret": {m.cfg.ClientSecret},
		"grant_type":    {grant},
	}
}

// Installs returns the installs in the store, sorted by key, without the
// location tokens minted from them; see [ListInstalls].
func (m *Manager) Installs(ctx context.Context) ([]*Install, error) {
	return ListInstalls(ctx, m.store)
}

// Delete removes the install under key ([Install.Key], such as
// "location:CLu7BaljjqrEjBGKTNNe"), as [DeleteInstall] does, and drops what
// this manager cached of it.
func (m *Manager) Delete(ctx context.Context, key string) error {
	in, err := DeleteInstall(ctx, m.store, key)
	if err != nil {
		return err
	}
	m.forget(in)
	return nil
}

// ListInstalls returns the installs in store, sorted by key, without the
// location tokens minted from them. It needs no app credentials, so a
// command that only shows installs can use it.
func ListInstalls(ctx context.Context, store Store) ([]*Install, error) {
	keys, err := store.List(ctx)
	if err != nil {
		return nil, &StoreError{Op: "list", Err: err}
	}
	slices.Sort(keys)
	var out []*Install
	for _, k := range keys {
		if !isInstallKey(k) {
			continue
		}
		in, err := store.Get(ctx, k)
		if errors.Is(err, ErrNotFound) {
			continue // deleted meanwhile
		}
		if err != nil {
			return nil, &StoreError{Op: "read", Key: k, Err: err}
		}
		out = append(out, in)
	}
	return out, nil
}

// DeleteInstall removes the install under key from store, with the
// location tokens minted from it, as when the app is uninstalled, and
// returns what it removed. The tokens stay valid at the server until they
// expire. A key that is not stored fails with [ErrNotFound]. Managers of
// other processes keep the token they cached until its refresh margin.
func DeleteInstall(ctx context.Context, store Store, key string) (*Install, error) {
	if !isInstallKey(key) {
		return nil, fmt.Errorf("oauth: %q is not an install key (location:<id> or company:<id>)", key)
	}
	in, err := store.Get(ctx, key)
	if err != nil {
		if errors.Is(err, ErrNotFound) {
			return nil, fmt.Errorf("oauth: no install %s: %w", key, ErrNotFound)
		}
		return nil, &StoreError{Op: "read", Key: key, Err: err}
	}
	for _, loc := range in.ApprovedLocations {
		if err := store.Delete(ctx, mintedKey(loc)); err != nil {
			return nil, &StoreError{Op: "del", Key: mintedKey(loc), Err: err}
		}
	}
	if err := store.Delete(ctx, key); err != nil {
		return nil, &StoreError{Op: "del", Key: key, Err: err}
	}
	return in, nil
}

// forget drops what this process cached of an install's locations.
func (m *Manager) forget(in *Install) {
	m.cacheMu.Lock()
	defer m.cacheMu.Unlock()
	for _, loc := range append([]string{in.LocationID}, in.ApprovedLocations...) {
		delete(m.cache, loc)
		delete(m.refused, loc)
		delete(m.companyOf, loc)
	}
}

// ReportSecrets calls report with the client secret now, and with every
// refresh token the manager comes to hold from now on, so that a client
// can hide them wherever it hides tokens. package leadway calls it when
// [leadway.NewFromLocationTokens] is given a manager.
func (m *Manager) ReportSecrets(report func(secret string)) {
	if report == nil {
		return
	}
	m.secretsMu.Lock()
	m.listeners = append(m.listeners, report)
	m.secretsMu.Unlock()
	report(m.cfg.ClientSecret)
}

// report tells the listeners of a secret.
func (m *Manager) report(secret string) {
	if secret == "" {
		return
	}
	m.secretsMu.Lock()
	ls := m.listeners
	m.secretsMu.Unlock()
	for _, l := range ls {
		l(secret)
	}
}

// InvalidateLocationToken tells the manager that the API refused tok for
// locationID (a 401). The next [Manager.LocationToken] for the location
// then returns another token: the one another process has stored since,
// or a new one, refreshed or minted at once. package leadway calls it
// before its one retry after a 401.
func (m *Manager) InvalidateLocationToken(locationID string, tok *oauth2.Token) {
	if tok == nil {
		return
	}
	m.cacheMu.Lock()
	defer m.cacheMu.Unlock()
	if e := m.cache[locationID]; e != nil && e.tok.AccessToken == tok.AccessToken {
		delete(m.cache, locationID)
	}
	if _, known := m.refused[locationID]; known || len(m.refused) < maxRefused {
		m.refused[locationID] = tok.AccessToken
	}
}

// maxRefused bounds the refusals remembered for locations not in use.
const maxRefused = 10_000
