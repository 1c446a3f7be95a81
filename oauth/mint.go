package oauth

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"
)

// minted returns a location token minted from the Company install that
// approves loc: the one the store holds while it is fresh, else a new one,
// minted under the lock of loc's minted key so that one process mints for
// the fleet.
func (m *Manager) minted(ctx context.Context, loc, refused string) (*Install, error) {
	key := mintedKey(loc)
	cur, err := m.get(ctx, key)
	if err != nil && !errors.Is(err, ErrNotFound) {
		return nil, err
	}
	if cur != nil && m.fresh(cur, refused) {
		return cur, nil
	}
	companyKey, err := m.companyFor(ctx, loc)
	if err != nil {
		return nil, err
	}
	return m.underLock(ctx, key, cur, refused, func(ctx context.Context, lease Lease, cur *Install) (*Install, error) {
		if refused != "" && cur != nil && cur.AccessToken == refused && !m.mayForce(key, cur) {
			return cur, nil // as for a refresh: an API refusing every token gets no mint per call
		}
		return m.mintLocked(ctx, lease, loc, companyKey)
	})
}

// mintLocked mints a location token with the Company install's token and
// saves it; the caller holds the lock of loc's minted key. A refused
// Company token is refreshed once, and the mint tried again.
func (m *Manager) mintLocked(ctx context.Context, lease Lease, loc, companyKey string) (*Install, error) {
	company, err := m.companyInstall(ctx, companyKey, "")
	if errors.Is(err, ErrNotFound) || (err == nil && !company.Approves(loc)) {
		// Deleted or reinstalled without loc since this process looked.
		m.cacheMu.Lock()
		delete(m.companyOf, loc)
		m.cacheMu.Unlock()
		_, err = m.companyFor(ctx, loc)
		if err == nil {
			err = fmt.Errorf("oauth: the install approving location %s changed; try again", loc)
		}
		return nil, err
	}
	if err != nil {
		return nil, err
	}
	tok, err := m.mintWith(ctx, lease, company, loc)
	var te *TokenError
	if errors.As(err, &te) && te.StatusCode == 401 {
		company, err = m.companyInstall(ctx, companyKey, company.AccessToken)
		if err != nil {
			return nil, err
		}
		tok, err = m.mintWith(ctx, lease, company, loc)
	}
	if err != nil {
		return nil, err
	}
	m.save(ctx, mintedKey(loc), lease, tok, true)
	m.opts.logger.Debug("oauth: minted a location token", "location", loc, "company", company.CompanyID, "expiry", tok.Expiry)
	return tok, nil
}

// companyInstall returns the Company install under key with a usable
// token, refreshing it if it is due; one flight per process.
func (m *Manager) companyInstall(ctx context.Context, key, refused string) (*Install, error) {
	v, err := m.shared(ctx, "install:"+key, func(ctx context.Context) (any, error) {
		in, err := m.get(ctx, key)
		if err != nil {
			return nil, err
		}
		return m.usable(ctx, key, in, refused)
	})
	if err != nil {
		return nil, err
	}
	return v.(*Install), nil
}

// mintWith asks POST /oauth/locationToken for a token of loc, with the
// Company token as Bearer, as HighLevel's SDKs do.
func (m *Manager) mintWith(ctx context.Context, lease Lease, company *Install, loc string) (*Install, error) {
	c := &call{
		op: "mint", who: "location " + loc + " (company " + company.CompanyID + ")", key: mintedKey(loc),
		path: "/oauth/locationToken", bearer: company.AccessToken,
		form:    url.Values{"companyId": {company.CompanyID}, "locationId": {loc}},
		secrets: []string{m.cfg.ClientSecret, company.AccessToken, company.RefreshToken},
	}
	return m.withRetries(ctx, lease, c, func(ctx context.Context) (*Install, error) {
		data, sent, err := m.send(ctx, c)
		if err != nil {
			return nil, err
		}
		in, err := parseAnswer(data, sent, false)
		if err == nil && in.LocationID != "" && in.LocationID != loc {
			err = fmt.Errorf("the answer's locationId is %s, not %s", in.LocationID, loc)
		}
		if err != nil {
			return nil, &TokenError{Op: c.op, Install: c.who, StatusCode: 200, Err: err}
		}
		in.UserType, in.LocationID, in.CompanyID, in.RefreshToken = Location, loc, company.CompanyID, ""
		in.ApprovedLocations, in.BulkInstallation = nil, false
		return in, nil
	})
}

// companyFor returns the key of the Company install that approves loc:
// remembered, or found by reading the store's installs. None is a
// *NoInstallError that lists what the store holds.
func (m *Manager) companyFor(ctx context.Context, loc string) (string, error) {
	m.cacheMu.RLock()
	k := m.companyOf[loc]
	m.cacheMu.RUnlock()
	if k != "" {
		return k, nil
	}
	keys, err := m.store.List(ctx)
	if err != nil {
		return "", &StoreError{Op: "list", Err: err}
	}
	slices.Sort(keys)
	var installs []string
	found := ""
	for _, key := range keys {
		if !isInstallKey(key) {
			continue
		}
		installs = append(installs, key)
		if !strings.HasPrefix(key, "company:") {
			continue
		}
		in, err := m.get(ctx, key)
		if errors.Is(err, ErrNotFound) {
			continue
		}
		if err != nil {
			return "", err
		}
		m.cacheMu.Lock()
		for _, a := range in.ApprovedLocations {
			if _, ok := m.companyOf[a]; !ok {
				m.companyOf[a] = key
			}
		}
		m.cacheMu.Unlock()
		if found == "" && in.Approves(loc) {
			found = key
		}
	}
	if found == "" {
		return "", &NoInstallError{LocationID: loc, Installs: installs}
	}
	return found, nil
}
