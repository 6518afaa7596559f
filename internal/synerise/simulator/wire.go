package simulator

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"
)

// FieldError is one entry of the profile error shape's "errors" list.
type FieldError struct {
	Code          int    `json:"code"`
	Field         string `json:"field"`
	Message       string `json:"message"`
	RejectedValue any    `json:"rejectedValue"`
}

// Field error codes used by the simulator (assumed: Synerise does not document them).
const (
	CodeInvalid     = 1 // wrong type, format or range
	CodeRequired    = 2 // missing or empty
	CodeUnknown     = 3 // unknown field
	CodeNotWritable = 4 // field may not be written
	CodeTooLong     = 5 // longer than allowed
	CodeConflict    = 6 // value already used by another profile
)

type profileError struct {
	Error     string       `json:"error"`
	Status    int          `json:"status"`
	Timestamp string       `json:"timestamp"`
	Path      string       `json:"path"`
	Message   string       `json:"message"`
	Errors    []FieldError `json:"errors"`
}

type iamError struct {
	Path      string `json:"path"`
	Timestamp string `json:"timestamp"`
	ErrorCode string `json:"errorCode"`
	Status    int    `json:"status"`
	Message   string `json:"message"`
	TraceID   string `json:"traceId"`
}

const timeLayout = "2006-01-02T15:04:05.000Z"

// fail answers an error in the shape the request's API area uses.
func (s *Simulator) fail(req *request, status int, message string, fields []FieldError) {
	s.failWith(req, status, http.StatusText(status), message, fields)
}

func (s *Simulator) failWith(req *request, status int, errText, message string, fields []FieldError) {
	ts := s.now().UTC().Format(timeLayout)
	if req.iam {
		writeJSON(req.w, status, iamError{
			Path: req.r.URL.Path, Timestamp: ts, ErrorCode: iamCode(status),
			Status: status, Message: message, TraceID: s.secrets.hex(16),
		})
		return
	}
	if fields == nil {
		fields = []FieldError{}
	}
	writeJSON(req.w, status, profileError{
		Error: errText, Status: status, Timestamp: ts, Path: req.r.URL.Path,
		Message: message, Errors: fields,
	})
}

// bareError is the profile error shape without an "errors" list.
type bareError struct {
	Error     string `json:"error"`
	Status    int    `json:"status"`
	Timestamp string `json:"timestamp"`
	Path      string `json:"path"`
	Message   string `json:"message"`
}

// failBare answers in the profile shape with no "errors" member at all, as
// Synerise does when it rejects a token with 403.
func (s *Simulator) failBare(req *request, status int, message string) {
	writeJSON(req.w, status, bareError{
		Error: http.StatusText(status), Status: status, Timestamp: s.now().UTC().Format(timeLayout),
		Path: req.r.URL.Path, Message: message,
	})
}

// iamCode is the assumed IAM errorCode for a status.
func iamCode(status int) string {
	switch status {
	case http.StatusBadRequest:
		return "IAM-400-BAD-REQUEST"
	case http.StatusUnauthorized:
		return "IAM-401-INVALID-API-KEY"
	case http.StatusTooManyRequests:
		return "IAM-429-TOO-MANY-REQUESTS"
	}
	return fmt.Sprintf("IAM-%d", status)
}

// marshal encodes v as Synerise does: `<`, `>` and `&` stay as they are, not escaped
// to \u003c the way encoding/json does by default.
func marshal(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := marshal(v)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	writeRaw(w, status, b)
}

func writeRaw(w http.ResponseWriter, status int, b []byte) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	w.Write(b)
}

// errBadBody is returned by readObject; its text is the message to answer with.
type errBadBody string

func (e errBadBody) Error() string { return string(e) }

// readObject reads a JSON object body, insisting on a JSON Content-Type.
// On failure it has already answered 400.
func (s *Simulator) readObject(req *request) (map[string]json.RawMessage, bool) {
	obj, err := decodeObject(req.r)
	if err != nil {
		s.fail(req, http.StatusBadRequest, err.Error(), nil)
		return nil, false
	}
	return obj, true
}

func decodeObject(r *http.Request) (map[string]json.RawMessage, error) {
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || (mt != "application/json" && !strings.HasSuffix(mt, "+json")) {
		return nil, errBadBody("Content-Type must be application/json.")
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxBodyBytes+1))
	if err != nil {
		return nil, errBadBody("Could not read the request body.")
	}
	if len(body) > maxBodyBytes {
		return nil, errBadBody("Request body is too large.")
	}
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(body, &obj); err != nil || obj == nil {
		return nil, errBadBody("Request body must be a JSON object.")
	}
	return obj, nil
}

// stringField reads an optional string member; present=false when absent or null.
func stringField(obj map[string]json.RawMessage, key string) (v string, present bool, err error) {
	raw, ok := obj[key]
	if !ok || isNull(raw) {
		return "", false, nil
	}
	if err := json.Unmarshal(raw, &v); err != nil {
		return "", true, fmt.Errorf("%s must be a string", key)
	}
	return v, true, nil
}

func isNull(raw json.RawMessage) bool {
	return strings.TrimSpace(string(raw)) == "null"
}
