package synerise

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// ProfilesService reads and updates customer profiles (/v4/clients).
type ProfilesService struct{ c *Client }

// Agreements are a profile's marketing consents.
type Agreements struct {
	Email     bool `json:"email"`
	SMS       bool `json:"sms"`
	Push      bool `json:"push"`
	WebPush   bool `json:"webPush"`
	Bluetooth bool `json:"bluetooth"`
	RFID      bool `json:"rfid"`
	WiFi      bool `json:"wifi"`
}

// Profile is a Synerise customer as returned by the profile API.
type Profile struct {
	ClientID         int64                      `json:"clientId"`
	UUID             string                     `json:"uuid"`
	Email            string                     `json:"email"`
	CustomID         string                     `json:"customId"`
	Phone            string                     `json:"phone"`
	FirstName        string                     `json:"firstName"`
	LastName         string                     `json:"lastName"`
	DisplayName      string                     `json:"displayName"`
	Company          string                     `json:"company"`
	Address          string                     `json:"address"`
	City             string                     `json:"city"`
	Province         string                     `json:"province"`
	ZipCode          string                     `json:"zipCode"`
	CountryCode      string                     `json:"countryCode"` // "+48" or "PL": kept as sent
	BirthDate        string                     `json:"birthDate"`   // YYYY-MM-DD
	Sex              string                     `json:"sex"`         // FEMALE, MALE, NOT_SPECIFIED, OTHER
	AvatarURL        string                     `json:"avatarUrl"`
	Anonymous        bool                       `json:"anonymous"`
	LastActivityDate string                     `json:"lastActivityDate"` // as sent; see LastActivity
	Agreements       Agreements                 `json:"agreements"`
	Attributes       map[string]json.RawMessage `json:"attributes"`
	Tags             []string                   `json:"tags"`
}

// UnmarshalJSON accepts lastActivityDate as a string or as epoch milliseconds.
func (p *Profile) UnmarshalJSON(data []byte) error {
	type plain Profile
	var aux struct {
		*plain
		LastActivityDate json.RawMessage `json:"lastActivityDate"`
	}
	aux.plain = (*plain)(p)
	if err := json.Unmarshal(data, &aux); err != nil {
		return err
	}
	p.LastActivityDate = ""
	raw := strings.TrimSpace(string(aux.LastActivityDate))
	switch {
	case raw == "" || raw == "null":
	case raw[0] == '"':
		return json.Unmarshal(aux.LastActivityDate, &p.LastActivityDate)
	default:
		ms, err := strconv.ParseFloat(raw, 64)
		if err != nil {
			return errors.New("lastActivityDate: neither a string nor a number")
		}
		p.LastActivityDate = time.UnixMilli(int64(ms)).UTC().Format(time.RFC3339)
	}
	return nil
}

// LastActivity parses LastActivityDate; ok is false when it is empty or unparseable.
func (p *Profile) LastActivity() (t time.Time, ok bool) {
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05.999999999", "2006-01-02 15:04:05"} {
		if t, err := time.Parse(layout, p.LastActivityDate); err == nil {
			return t, true
		}
	}
	return time.Time{}, false
}

// EmailConfirmed reads attributes.snrs_email_confirmed, sent as "true"/"false" or a JSON bool.
// known is false when the attribute is absent or holds anything else.
func (p *Profile) EmailConfirmed() (confirmed bool, known bool) {
	raw, ok := p.Attributes["snrs_email_confirmed"]
	if !ok {
		return false, false
	}
	var v any
	if json.Unmarshal(raw, &v) != nil {
		return false, false
	}
	switch v := v.(type) {
	case bool:
		return v, true
	case string:
		switch strings.ToLower(strings.TrimSpace(v)) {
		case "true":
			return true, true
		case "false":
			return false, true
		}
	}
	return false, false
}

// Get fetches a profile by Synerise's numeric id: GET /v4/clients/{clientId}.
func (s *ProfilesService) Get(ctx context.Context, clientID int64) (*Profile, error) {
	return s.get(ctx, "profiles.get", "/v4/clients/"+strconv.FormatInt(clientID, 10))
}

// GetByEmail fetches a profile by e-mail: GET /v4/clients/by-email/{email}. An empty or
// blank email, "." or ".." is refused without a request (ErrInvalidPathValue).
func (s *ProfilesService) GetByEmail(ctx context.Context, email string) (*Profile, error) {
	return s.getBy(ctx, "profiles.get_by_email", "/v4/clients/by-email/", "email", email)
}

// GetByCustomID fetches a profile by custom id: GET /v4/clients/by-customId/{customId}. An
// empty or blank customID, "." or ".." is refused without a request (ErrInvalidPathValue).
func (s *ProfilesService) GetByCustomID(ctx context.Context, customID string) (*Profile, error) {
	return s.getBy(ctx, "profiles.get_by_custom_id", "/v4/clients/by-customId/", "customId", customID)
}

// GetByUUID fetches a profile by UUID: GET /v4/clients/by-uuid/{uuid}. An empty or blank
// uuid, "." or ".." is refused without a request (ErrInvalidPathValue).
func (s *ProfilesService) GetByUUID(ctx context.Context, uuid string) (*Profile, error) {
	return s.getBy(ctx, "profiles.get_by_uuid", "/v4/clients/by-uuid/", "uuid", uuid)
}

func (s *ProfilesService) getBy(ctx context.Context, op, prefix, kind, id string) (*Profile, error) {
	seg, err := pathSegment(kind, id)
	if err != nil {
		return nil, fmt.Errorf("synerise: %s: %w", op, err)
	}
	return s.get(ctx, op, prefix+seg)
}

func (s *ProfilesService) get(ctx context.Context, op, path string) (*Profile, error) {
	var p Profile
	if err := s.c.call(ctx, op, http.MethodGet, path, nil, nil, &p); err != nil {
		return nil, err
	}
	return &p, nil
}

// ListOptions selects a page of profiles. Zero values are not sent.
type ListOptions struct {
	PageIndex int    // from 0
	PageSize  int    // Synerise default 20, at most 100
	SortBy    string // firstName, lastName, lastActivityDate, email, city, phone
	SortOrder string // ASC or DESC
	Filters   ListFilters
}

// ListFilters match by prefix, case-insensitively.
type ListFilters struct {
	Email, Phone, FirstName, LastName string
	Anonymous                         *bool
}

// List fetches one page of profiles: GET /v4/clients?pageIndex=&pageSize=&sortBy=&sortOrder=&filters[...]=.
// Synerise answers a bare array without a total.
func (s *ProfilesService) List(ctx context.Context, opts ListOptions) ([]Profile, error) {
	q := url.Values{}
	if opts.PageIndex > 0 {
		q.Set("pageIndex", strconv.Itoa(opts.PageIndex))
	}
	if opts.PageSize > 0 {
		q.Set("pageSize", strconv.Itoa(opts.PageSize))
	}
	if opts.SortBy != "" {
		q.Set("sortBy", opts.SortBy)
	}
	if opts.SortOrder != "" {
		q.Set("sortOrder", opts.SortOrder)
	}
	f := opts.Filters
	for key, v := range map[string]string{"email": f.Email, "phone": f.Phone, "firstName": f.FirstName, "lastName": f.LastName} {
		if v != "" {
			q.Set("filters["+key+"]", v)
		}
	}
	if f.Anonymous != nil {
		q.Set("filters[anonymous]", strconv.FormatBool(*f.Anonymous))
	}
	var out []Profile
	if err := s.c.call(ctx, "profiles.list", http.MethodGet, "/v4/clients", q, nil, &out); err != nil {
		return nil, err
	}
	if out == nil {
		out = []Profile{}
	}
	return out, nil
}

// Update changes only the fields set in u: POST /v4/clients/{clientId}. Synerise answers
// 202 and applies the change asynchronously, so a Get right after may briefly be stale.
func (s *ProfilesService) Update(ctx context.Context, clientID int64, u ProfileUpdate) error {
	if u.IsEmpty() {
		return fmt.Errorf("synerise: profiles.update: %w: nothing to update", ErrInvalidInput)
	}
	return s.c.call(ctx, "profiles.update", http.MethodPost, "/v4/clients/"+strconv.FormatInt(clientID, 10), nil, u, nil)
}
