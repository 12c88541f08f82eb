package control

import (
	"context"
	"errors"
	"testing"
	"time"
)

// webAPI is a fakeAPI with a dashboard.
type webAPI struct {
	fakeAPI
	exp time.Time
}

func (w *webAPI) WebLogin(context.Context) (WebLoginReply, error) {
	return WebLoginReply{URL: "http://127.0.0.1:9191/login?token=t", Expires: w.exp}, nil
}

func TestWebLogin(t *testing.T) {
	exp := time.Date(2026, 12, 3, 12, 5, 0, 0, time.UTC)
	c := NewClient(serve(t, newTestServer(&webAPI{exp: exp})))
	r, err := c.WebLogin(context.Background())
	if err != nil || r.URL != "http://127.0.0.1:9191/login?token=t" || !r.Expires.Equal(exp) {
		t.Errorf("WebLogin = %+v, %v", r, err)
	}
	// A daemon without a dashboard.
	c = NewClient(serve(t, newTestServer(&fakeAPI{})))
	if _, err := c.WebLogin(context.Background()); !errors.Is(err, ErrNotFound) {
		t.Errorf("WebLogin without a dashboard = %v, want ErrNotFound", err)
	}
}
