// Package simulator is a built-in, in-memory Synerise workspace that follows
// the project's Synerise API contract (synerise-api.md) to the letter, wire format included.
// It is the console's embedded default (make run, demos) and the ground every
// test stands on. It never imports the client package.
//
// # Synerise endpoints
//
//	POST /uauth/v2/auth/login/profile                     auth.login (no token; IAM error shape)
//	GET  /v4/auth/refresh/profile                         auth.refresh
//	GET  /v4/clients                                      profiles.list
//	GET  /v4/clients/{clientId}                           profiles.get
//	GET  /v4/clients/by-email/{email}                     profiles.get
//	GET  /v4/clients/by-customId/{customId}               profiles.get
//	GET  /v4/clients/by-uuid/{uuid}                       profiles.get
//	POST /v4/clients/{clientId}                           profiles.update
//	DELETE /v4/clients/{clientId}                         profiles.erase
//	POST /sauth/clients/password-reset/request            accounts.password_reset
//	POST /sauth/clients/password-reset/confirmation       accounts.password_reset_confirm
//	POST /sauth/clients/activation/request                accounts.activation
//	POST /sauth/clients/activation/confirmation           accounts.activation_confirm
//	POST /sauth/clients/activation/by-pin-code/request    accounts.pin
//	POST /sauth/clients/activation/by-pin-code/confirmation accounts.pin_confirm
//	GET  /sauth/settings/general, GET /sauth/settings     settings.get
//	POST /sauth/settings/general, POST /sauth/settings    settings.set
//
// The right-hand names are route names: they key fault injection
// ([Simulator.SetFault]; "*" matches every route that has no fault of its own)
// and the request counters ([Simulator.RequestCount]). Requests that match no
// route are counted as "unknown". A second counter per route,
// [Simulator.ExecutedCount], counts only the requests whose handler ran: past
// fault injection and the token check. A write refused for its token (and
// then replayed by the client) or faulted counts once in the request counter
// and not at all in the executed one, so the executed count of a write route
// is how many times Synerise would have applied such writes.
//
// Every endpoint except login requires "Authorization: Bearer <token>" with a
// token from login or refresh. Errors use the profile shape
// {"error","status","timestamp","path","message","errors":[...]} everywhere
// except under /uauth, which uses the IAM shape
// {"path","timestamp","errorCode","status","message","traceId"}. An expired
// token answers 401 with "error": "Token expired."; with
// Options.ExpiredTokenStatus 403 (or POST /_simulator/auth) it answers 403 with
// "error": "Forbidden", message "Token expired." and no "errors" member — a 403
// without field errors is a rejected token, while the PIN device rule's 403
// always carries a field error on "deviceId". A token that is not valid answers
// 401 with "error": "Invalid token.": tampered, signed by another simulator
// (the signing key is random per process, so tokens do not survive a restart),
// or issued before [Simulator.RevokeTokens] (an API key regenerated in the
// Synerise app). Request bodies must be sent with Content-Type application/json
// (400 otherwise).
//
// A profile update may change the e-mail (an identifier): an address another
// profile uses (case-insensitively) is a 400 with a field error on "email", code 6;
// afterwards lookups by the old address answer 404 and the new one finds the
// profile. DELETE /v4/clients/{clientId} erases a profile for good (GDPR art. 17):
// 200, or 404 when there is none; afterwards every lookup of it — by clientId,
// e-mail, customId, uuid, in lists and filters — answers 404 or leaves it out, and
// its pending e-mailed tokens stop working. [Simulator.Erase] does the same in
// process.
//
// A phone sent in a profile update must match ^\+?[0-9 ]{6,20}$ after
// trimming (Synerise: "digits, spaces, and an optional +"), else 400 with a
// field error on "phone". Phones already stored in another form, such as
// "+48 (600) 100-200", are returned and kept as they are; the phone list filter
// compares with spaces, dashes and parentheses removed. A path segment is
// unescaped after the path is split, so %2F stays inside a segment and an
// escaped "." or ".." is just a value: GET /v4/clients/by-customId/%2E%2E is 404.
//
// # Simulator-only admin endpoints
//
// These are served under /_simulator/ by the simulator's own handler only.
// They need no Synerise token and answer JSON:
//
//	GET    /_simulator/outbox[?email=]          messages Synerise would have sent
//	DELETE /_simulator/outbox                   forget every message
//	GET    /_simulator/settings                 the raw RaaS settings object
//	GET    /_simulator/faults                   faults in force, by route
//	POST   /_simulator/faults                   {"route":"profiles.get","latencyMs":200,
//	                                            "errorRate":0.5,"errorStatus":503,
//	                                            "rateLimitRate":1,"retryAfterSeconds":2,
//	                                            "retryAfterHttpDate":false,"dropRate":0};
//	                                            {"route":"x","clear":true} removes one
//	                                            route's fault. A 429 always has Retry-After
//	                                            (1 s when retryAfterSeconds is 0); an
//	                                            errorStatus of 502, 503 or 504 has it only
//	                                            when retryAfterSeconds > 0; as an HTTP date
//	                                            with "retryAfterHttpDate":true
//	DELETE /_simulator/faults                   clears every fault
//	GET    /_simulator/auth                     {"expiredTokenStatus":401}
//	POST   /_simulator/auth                     {"expiredTokenStatus":403} answers expired
//	                                            tokens with 403 from now on (401 or 403);
//	                                            answers the new setting
//	POST   /_simulator/tokens/revoke            no body; every token issued so far is
//	                                            answered 401 "Invalid token." (an API key
//	                                            regenerated); a new login works; 204
//	GET    /_simulator/requests                 request counts per route (every request
//	                                            that reached the route, refused and
//	                                            faulted ones included)
//	GET    /_simulator/executed                 executed counts per route (handler ran)
//	GET    /_simulator/tokens/rejected          {"expired":n,"invalid":n}: requests refused
//	                                            for their token, by reason
//	DELETE /_simulator/requests                 sets both kinds of counter back to zero
//	GET    /_simulator/examples                 well-known customers, per state and data case
//	GET    /_simulator/accounts/{clientId}      registration state of one customer
//
// # Registration state and device ids
//
// Each customer has an internal registration state: registered with a
// password or not, activated or not (the attribute snrs_email_confirmed,
// "true"/"false", is the source of truth), and the device id of the last PIN
// request. The device id is exposed read-only in the profile as the custom
// attribute "snrs_last_pin_device_id" (absent when no PIN was ever
// requested) and by GET /_simulator/accounts/{clientId}; writing that
// attribute through the profile update is a 400. Real Synerise workspaces may
// not expose it, so a console must treat it as optional.
//
// An account registered under registrationType AUTOMATIC (state "automatic")
// is usable at once and its snrs_email_confirmed stays "false": activation and
// PIN requests for it answer 400 "Account activation is not required: ...".
// The registration type is the account's, from when it registered; accounts
// still awaiting an e-mail link or a PIN keep waiting whatever the workspace's
// registrationType says now, and the simulator's workspace starts (and resets)
// with AUTOMATIC.
//
// The customer set is generated from Options.Seed: the same seed gives the
// same customers, byte for byte. [Simulator.Examples] lists hand-written
// customers (the same for every seed) in each registration state, and some made
// for a data case ([ExampleCustomer.Case], [Simulator.ExampleFor]):
// CaseAttributeTypes has custom attributes of every JSON type, null included.
package simulator
