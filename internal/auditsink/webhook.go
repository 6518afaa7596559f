package auditsink

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/tls"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"time"
)

// Webhook formats.
const (
	FormatNDJSON    = "ndjson"
	FormatSplunkHEC = "splunk-hec"
)

// SignatureHeader carries "sha256=" and the hex HMAC-SHA256 of the body.
const SignatureHeader = "X-Console-Signature"

// WebhookOptions configure the HTTPS webhook sink.
type WebhookOptions struct {
	URL    string
	Secret []byte // the HMAC key: the configured secret's bytes
	Format string // FormatNDJSON (default) or FormatSplunkHEC
	// SplunkToken, when set, is sent as "Authorization: Splunk <token>".
	SplunkToken string
	TLS         *tls.Config   // from TLSConfig
	Timeout     time.Duration // per request; default 30 s
}

// Webhook POSTs each batch to an HTTPS endpoint, signed; a 2xx acknowledges it.
type Webhook struct {
	opts   WebhookOptions
	client *http.Client
}

// NewWebhook returns the webhook sink.
func NewWebhook(o WebhookOptions) (*Webhook, error) {
	if _, err := url.ParseRequestURI(o.URL); err != nil {
		return nil, errors.New("auditsink: webhook: malformed URL")
	}
	if len(o.Secret) == 0 {
		return nil, errors.New("auditsink: webhook: no secret")
	}
	switch o.Format {
	case "":
		o.Format = FormatNDJSON
	case FormatNDJSON, FormatSplunkHEC:
	default:
		return nil, fmt.Errorf("auditsink: webhook: unknown format %q", o.Format)
	}
	if o.Timeout <= 0 {
		o.Timeout = 30 * time.Second
	}
	transport := http.DefaultTransport.(*http.Transport).Clone()
	transport.TLSClientConfig = o.TLS
	client := &http.Client{
		Transport: transport, Timeout: o.Timeout,
		// A redirect is a failure: the body is signed for the configured receiver only.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	return &Webhook{opts: o, client: client}, nil
}

// Name implements Sink.
func (w *Webhook) Name() string { return NameWebhook }

// Close implements Sink.
func (w *Webhook) Close() error {
	w.client.CloseIdleConnections()
	return nil
}

// Sign is the X-Console-Signature value of body under secret.
func Sign(secret, body []byte) string {
	mac := hmac.New(sha256.New, secret)
	mac.Write(body)
	return "sha256=" + hex.EncodeToString(mac.Sum(nil))
}

// Deliver implements Sink: one POST of the whole batch. An empty batch (the shipper's
// idle poll) sends nothing: every POST is acknowledged, so nothing can be lost unseen.
func (w *Webhook) Deliver(ctx context.Context, b Batch) error {
	if len(b.Lines) == 0 {
		return nil
	}
	body, err := w.body(b)
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, w.opts.URL, bytes.NewReader(body))
	if err != nil {
		return errors.New("auditsink: webhook: cannot build the request")
	}
	req.Header.Set("Content-Type", "application/x-ndjson")
	req.Header.Set(SignatureHeader, Sign(w.opts.Secret, body))
	if w.opts.SplunkToken != "" {
		req.Header.Set("Authorization", "Splunk "+w.opts.SplunkToken)
	}
	resp, err := w.client.Do(req)
	if err != nil {
		return fmt.Errorf("auditsink: webhook: seq %d–%d: %w", b.First, b.Last, withoutURL(err))
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10)) // lets the connection be reused
	_ = resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return fmt.Errorf("auditsink: webhook: seq %d–%d: receiver answered %s", b.First, b.Last, resp.Status)
	}
	return nil
}

// withoutURL drops the request URL from a client error: the URL may carry a token in its
// query, and the error goes to the log, the audit log and the Integrity page.
func withoutURL(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return fmt.Errorf("POST: %w", ue.Err)
	}
	return err
}

// body is the batch's lines each followed by "\n", or in Splunk HEC format one event
// envelope per line.
func (w *Webhook) body(b Batch) ([]byte, error) {
	size := len(b.Lines)
	for _, l := range b.Lines {
		size += len(l)
	}
	if w.opts.Format == FormatSplunkHEC {
		size += len(b.Lines) * 96
	}
	buf := bytes.NewBuffer(make([]byte, 0, size))
	for _, line := range b.Lines {
		if w.opts.Format == FormatSplunkHEC {
			if err := hecEnvelope(buf, line); err != nil {
				return nil, err
			}
		} else {
			buf.Write(line)
		}
		buf.WriteByte('\n')
	}
	return buf.Bytes(), nil
}

// hecEnvelope writes line wrapped as a Splunk HEC event: its time in epoch seconds, a
// source type and source, and the record itself, byte for byte, as "event".
func hecEnvelope(buf *bytes.Buffer, line []byte) error {
	var r struct {
		Seq  int64  `json:"seq"`
		Time string `json:"time"`
	}
	if err := json.Unmarshal(line, &r); err != nil {
		return fmt.Errorf("auditsink: webhook: splunk envelope: %w", err)
	}
	t, err := time.Parse(time.RFC3339Nano, r.Time)
	if err != nil {
		return fmt.Errorf("auditsink: webhook: splunk envelope of seq %d: %w", r.Seq, err)
	}
	buf.WriteString(`{"time":`)
	buf.WriteString(strconv.FormatFloat(float64(t.UnixMicro())/1e6, 'f', 6, 64))
	buf.WriteString(`,"sourcetype":"raas:console:audit","source":"raas-console","event":`)
	buf.Write(line)
	buf.WriteByte('}')
	return nil
}
