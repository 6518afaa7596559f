// Package session keeps operator sessions server-side in PostgreSQL behind
// gorilla/sessions: the cookie carries only a signed opaque id, the table only the id's
// SHA-256. Sessions end after an idle timeout and an absolute lifetime. While Listen runs,
// a Store answers the sessions it validated from memory until the database announces a
// change to them.
package session

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/gorilla/securecookie"
	"github.com/gorilla/sessions"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/raas-console/console/internal/operators"
)

// OperatorKey is the session value holding the signed-in operator's id (int64).
const OperatorKey = "operator_id"

// operatorRowKey holds the signed-in operator as read with the session; it is never saved.
const operatorRowKey = "_operator"

// SignedIn returns the operator a loaded session belongs to as the operators table has it,
// read in the same query as the session so that a request costs at most one round trip
// for both (none while the session is cached: a change to the operator's row drops it
// from every replica's cache, see Listen). Only what a request needs is read: ID, Email,
// Name, Role, Disabled and MustChangePassword. It reports false for a new session and
// for one without an operator.
func SignedIn(sess *sessions.Session) (operators.Operator, bool) {
	op, ok := sess.Values[operatorRowKey].(operators.Operator)
	return op, ok
}

// touchEvery limits how often a request writes last-seen, so reads stay cheap.
const touchEvery = time.Minute

// Options configure a Store.
type Options struct {
	Secret      []byte
	Secure      bool
	IdleTimeout time.Duration
	MaxLifetime time.Duration
	Now         func() time.Time
	// CacheSize and CacheMaxAge bound the sessions kept validated in memory while Listen
	// runs (DefaultCacheSize and DefaultCacheMaxAge when zero).
	CacheSize   int
	CacheMaxAge time.Duration
}

// Store is a gorilla/sessions Store on PostgreSQL.
type Store struct {
	pool   *pgxpool.Pool
	codecs []securecookie.Codec
	opts   Options
	cookie sessions.Options
	cache  *cache
}

// NewStore returns a Store. The cookie is HttpOnly, SameSite=Lax, Path=/, without
// Domain, and Secure when opts.Secure.
func NewStore(pool *pgxpool.Pool, opts Options) *Store {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	hashKey := sha256.Sum256(append([]byte("session-cookie-hmac:"), opts.Secret...))
	codecs := securecookie.CodecsFromPairs(hashKey[:])
	for _, c := range codecs {
		if sc, ok := c.(*securecookie.SecureCookie); ok {
			sc.MaxAge(int(opts.MaxLifetime.Seconds()) + 60)
			sc.SetSerializer(securecookie.JSONEncoder{})
		}
	}
	return &Store{
		pool:   pool,
		codecs: codecs,
		opts:   opts,
		cookie: sessions.Options{Path: "/", HttpOnly: true, Secure: opts.Secure, SameSite: http.SameSiteLaxMode},
		cache:  newCache(opts.CacheSize, opts.CacheMaxAge),
	}
}

// CookieName is the session cookie's name: with the __Host- prefix when Secure.
func (s *Store) CookieName() string {
	if s.opts.Secure {
		return "__Host-console_session"
	}
	return "console_session"
}

// Get returns the request's session, cached for the request.
func (s *Store) Get(r *http.Request, name string) (*sessions.Session, error) {
	return sessions.GetRegistry(r).Get(s, name)
}

// New loads the session named by the request's cookie, or returns a new empty one when
// there is none, it is forged, unknown or expired.
func (s *Store) New(r *http.Request, name string) (*sessions.Session, error) {
	sess := sessions.NewSession(s, name)
	opts := s.cookie
	sess.Options = &opts
	sess.IsNew = true
	c, err := r.Cookie(name)
	if err != nil {
		return sess, nil
	}
	var id string
	if err := securecookie.DecodeMulti(name, c.Value, &id, s.codecs...); err != nil {
		return sess, nil
	}
	found, err := s.load(r.Context(), id, sess)
	if err != nil {
		return sess, err
	}
	if found {
		sess.ID = id
		sess.IsNew = false
	}
	return sess, nil
}

// Save writes the session and sets its cookie; a session with MaxAge < 0 is deleted.
func (s *Store) Save(r *http.Request, w http.ResponseWriter, sess *sessions.Session) error {
	ctx := r.Context()
	if sess.Options != nil && sess.Options.MaxAge < 0 {
		if sess.ID != "" {
			if err := s.delete(ctx, sess.ID); err != nil {
				return err
			}
		}
		http.SetCookie(w, sessions.NewCookie(sess.Name(), "", sess.Options))
		return nil
	}
	now := s.opts.Now()
	if sess.ID == "" {
		id, err := newID()
		if err != nil {
			return err
		}
		sess.ID = id
		sess.Values[createdKey] = now.UnixMicro()
	}
	if err := s.write(ctx, sess, now); err != nil {
		return err
	}
	encoded, err := securecookie.EncodeMulti(sess.Name(), sess.ID, s.codecs...)
	if err != nil {
		return fmt.Errorf("session: encode cookie: %w", err)
	}
	http.SetCookie(w, sessions.NewCookie(sess.Name(), encoded, sess.Options))
	return nil
}

// Renew gives the session a new id and deletes the old one, keeping its values: call
// it at sign-in so an id known before sign-in is dead afterwards.
func (s *Store) Renew(r *http.Request, w http.ResponseWriter, sess *sessions.Session) error {
	if sess.ID != "" {
		if err := s.delete(r.Context(), sess.ID); err != nil {
			return err
		}
	}
	sess.ID = ""
	delete(sess.Values, createdKey)
	delete(sess.Values, operatorRowKey)
	delete(sess.Values, refKey)
	sess.IsNew = true
	return s.Save(r, w, sess)
}

// DeleteExpired removes sessions past their end and returns how many.
func (s *Store) DeleteExpired(ctx context.Context) (int64, error) {
	tag, err := s.pool.Exec(ctx, `DELETE FROM sessions WHERE expires_at <= $1`, s.opts.Now())
	if err != nil {
		return 0, fmt.Errorf("session: delete expired: %w", err)
	}
	return tag.RowsAffected(), nil
}

// Active counts sessions that have not ended.
func (s *Store) Active(ctx context.Context) (int64, error) {
	var n int64
	err := s.pool.QueryRow(ctx, `SELECT count(*) FROM sessions WHERE expires_at > $1`, s.opts.Now()).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("session: count: %w", err)
	}
	return n, nil
}

const createdKey = "_created"

// load fills sess with the session id from memory when a fresh copy is cached and the
// cache is live, and from the database otherwise, caching what it read.
func (s *Store) load(ctx context.Context, id string, sess *sessions.Session) (bool, error) {
	k := keyOf(id)
	now := s.opts.Now()
	e, epoch := s.cache.get(k, now)
	if e == nil {
		var err error
		if e, err = s.read(ctx, id, now); err != nil || e == nil {
			return false, err
		}
		s.cache.put(k, e, epoch)
	}
	return true, e.fill(sess)
}

// read reads the session id joined with its operator in one query, deletes it when it has
// ended and touches it when it was last seen a minute or more ago. It returns nil for a
// session that is unknown or has ended.
func (s *Store) read(ctx context.Context, id string, now time.Time) (*entry, error) {
	var (
		e          = entry{readAt: now}
		email      *string
		name       *string
		role       *string
		disabled   *bool
		mustChange *bool
	)
	err := s.pool.QueryRow(ctx, `SELECT s.data, s.ref, s.operator_id, s.created_at, s.last_seen_at, s.expires_at,
			o.email::text, o.name, o.role, o.disabled, o.must_change_password
		FROM sessions s LEFT JOIN operators o ON o.id = s.operator_id
		WHERE s.id_hash = $1`, hashID(id)).Scan(&e.data, &e.ref, &e.operatorID, &e.created, &e.lastSeen, &e.expires,
		&email, &name, &role, &disabled, &mustChange)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("session: load: %w", err)
	}
	if !now.Before(e.expires) {
		return nil, s.delete(ctx, id)
	}
	if e.operatorID != nil && email != nil && name != nil && role != nil && disabled != nil && mustChange != nil {
		e.operator = &operators.Operator{ID: *e.operatorID, Email: *email, Name: *name,
			Role: operators.Role(*role), Disabled: *disabled, MustChangePassword: *mustChange}
	}
	if now.Sub(e.lastSeen) >= touchEvery {
		e.lastSeen, e.expires = now, s.expiry(e.created, now)
		_, err := s.pool.Exec(ctx, `UPDATE sessions SET last_seen_at = $2, expires_at = $3 WHERE id_hash = $1`,
			hashID(id), e.lastSeen, e.expires)
		if err != nil {
			return nil, fmt.Errorf("session: touch: %w", err)
		}
	}
	return &e, nil
}

// fill puts the session as read into sess.Values.
func (e *entry) fill(sess *sessions.Session) error {
	var values map[string]any
	if err := json.Unmarshal(e.data, &values); err != nil {
		return fmt.Errorf("session: decode: %w", err)
	}
	for k, v := range values {
		sess.Values[k] = v
	}
	sess.Values[createdKey] = e.created.UnixMicro()
	sess.Values[refKey] = e.ref
	if e.operatorID != nil {
		sess.Values[OperatorKey] = *e.operatorID
		if e.operator != nil {
			sess.Values[operatorRowKey] = *e.operator
		}
	}
	return nil
}

func (s *Store) write(ctx context.Context, sess *sessions.Session, now time.Time) error {
	values, cols, err := splitValues(sess.Values)
	if err != nil {
		return err
	}
	created := now
	if !cols.created.IsZero() {
		created = cols.created
	}
	data, err := json.Marshal(values)
	if err != nil {
		return fmt.Errorf("session: encode: %w", err)
	}
	// Where and with what the session started are written once, at sign-in: a later save
	// (a flash, a step-up) does not carry them and must not blank them.
	var ref int64
	err = s.pool.QueryRow(ctx, `INSERT INTO sessions (id_hash, operator_id, data, created_at, last_seen_at, expires_at,
			client_ip, user_agent, auth_method)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
		ON CONFLICT (id_hash) DO UPDATE SET operator_id = EXCLUDED.operator_id, data = EXCLUDED.data,
			last_seen_at = EXCLUDED.last_seen_at, expires_at = EXCLUDED.expires_at,
			client_ip = COALESCE(NULLIF(EXCLUDED.client_ip, ''), sessions.client_ip),
			user_agent = COALESCE(NULLIF(EXCLUDED.user_agent, ''), sessions.user_agent),
			auth_method = COALESCE(NULLIF(EXCLUDED.auth_method, ''), sessions.auth_method)
		RETURNING ref`,
		hashID(sess.ID), cols.operatorID, data, created, now, s.expiry(created, now),
		cols.clientIP, cols.userAgent, cols.method).Scan(&ref)
	// This replica reads its own write at once; the others when the notification comes.
	s.cache.dropSession(keyOf(sess.ID))
	if err != nil {
		return fmt.Errorf("session: save: %w", err)
	}
	sess.Values[refKey] = ref
	return nil
}

func (s *Store) expiry(created, now time.Time) time.Time {
	idle := now.Add(s.opts.IdleTimeout)
	if absolute := created.Add(s.opts.MaxLifetime); absolute.Before(idle) {
		return absolute
	}
	return idle
}

func (s *Store) delete(ctx context.Context, id string) error {
	_, err := s.pool.Exec(ctx, `DELETE FROM sessions WHERE id_hash = $1`, hashID(id))
	s.cache.dropSession(keyOf(id))
	if err != nil {
		return fmt.Errorf("session: delete: %w", err)
	}
	return nil
}

// CacheStats reports what the Store's cache of validated sessions did.
func (s *Store) CacheStats() CacheStats { return s.cache.stats() }

func keyOf(id string) key { return sha256.Sum256([]byte(id)) }

func hashID(id string) []byte {
	k := keyOf(id)
	return k[:]
}

func newID() (string, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("session: new id: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}
