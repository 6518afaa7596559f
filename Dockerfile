# syntax=docker/dockerfile:1
# RaaS Console: a static binary with its templates, static files and migrations embedded,
# on a distroless non-root runtime. No shell is needed at runtime.
FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN go tool templ generate && \
    CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o /out/console ./cmd/console

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/console /console
USER nonroot:nonroot
ENV CONSOLE_ADDR=0.0.0.0:8080
EXPOSE 8080
ENTRYPOINT ["/console"]
CMD ["serve"]
