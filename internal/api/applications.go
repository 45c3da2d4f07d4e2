package api

import (
	"context"

	"github.com/google/uuid"

	"github.com/gatehouse-id/gatehouse/internal/store"
)

// Application is Authentik's application serializer.
type Application struct {
	PK               uuid.UUID     `json:"pk"`
	Name             string        `json:"name"`
	Slug             string        `json:"slug"`
	Provider         uuid.NullUUID `json:"provider"`
	Group            string        `json:"group"`
	MetaLaunchURL    string        `json:"meta_launch_url"`
	MetaIcon         string        `json:"meta_icon"`
	MetaDescription  string        `json:"meta_description"`
	MetaPublisher    string        `json:"meta_publisher"`
	OpenInNewTab     bool          `json:"open_in_new_tab"`
	PolicyEngineMode string        `json:"policy_engine_mode" enum:"any,all"`
	version          int64
}

func (a Application) Meta() Meta { return Meta{ID: a.PK, Name: a.Slug, Version: a.version} }

// ApplicationRequest is what create and update accept.
type ApplicationRequest struct {
	Name             *string        `json:"name"`
	Slug             *string        `json:"slug"`
	Provider         *uuid.NullUUID `json:"provider"`
	Group            *string        `json:"group"`
	MetaLaunchURL    *string        `json:"meta_launch_url"`
	MetaIcon         *string        `json:"meta_icon"`
	MetaDescription  *string        `json:"meta_description"`
	MetaPublisher    *string        `json:"meta_publisher"`
	OpenInNewTab     *bool          `json:"open_in_new_tab"`
	PolicyEngineMode *string        `json:"policy_engine_mode" enum:"any,all"`
}

func applicationOut(a *store.Application) Application {
	return Application{PK: a.ID, Name: a.Name, Slug: a.Slug, Provider: a.ProviderID, Group: a.Group, MetaLaunchURL: a.LaunchURL,
		MetaIcon: a.Icon, MetaDescription: a.Description, MetaPublisher: a.Publisher, OpenInNewTab: a.OpenInNewTab,
		PolicyEngineMode: a.PolicyEngineMode, version: a.Version}
}

func (in *ApplicationRequest) apply(a *store.Application) {
	set(&a.Name, in.Name)
	set(&a.Slug, in.Slug)
	set(&a.ProviderID, in.Provider)
	set(&a.Group, in.Group)
	set(&a.LaunchURL, in.MetaLaunchURL)
	set(&a.Icon, in.MetaIcon)
	set(&a.Description, in.MetaDescription)
	set(&a.Publisher, in.MetaPublisher)
	set(&a.OpenInNewTab, in.OpenInNewTab)
	set(&a.PolicyEngineMode, in.PolicyEngineMode)
}


func (a *API) registerApplications() {
	Register(a, Resource[Application, ApplicationRequest]{
		Path: "core/applications/", Tag: "core", Model: "authentik_core.application", Required: []string{"name", "slug"},
		// Authentik addresses applications by slug: /core/applications/<slug>/.
		Key: func(ctx context.Context, c *Caller, slug string) (uuid.UUID, error) {
			ap, err := c.Scope.Applications().GetBySlug(ctx, slug)
			if err != nil {
				return uuid.Nil, err
			}
			return ap.ID, nil
		},
		KeyName: "slug",
		List: func(ctx context.Context, c *Caller, q Query) ([]Application, int, error) {
			as, total, err := c.Scope.Applications().List(ctx, store.ApplicationQuery{Search: q.Search, Page: q.Page})
			out := make([]Application, len(as))
			for i, x := range as {
				out[i] = applicationOut(x)
			}
			return out, total, err
		},
		Get: func(ctx context.Context, c *Caller, id uuid.UUID) (Application, error) {
			x, err := c.Scope.Applications().Get(ctx, id)
			if err != nil {
				return Application{}, err
			}
			return applicationOut(x), nil
		},
		Create: func(ctx context.Context, c *Caller, in *ApplicationRequest) (Application, error) {
			x := &store.Application{PolicyEngineMode: "any"}
			in.apply(x)
			if err := a.as(c).CreateApplication(ctx, c.Scope, x); err != nil {
				return Application{}, err
			}
			return applicationOut(x), nil
		},
		Update: func(ctx context.Context, c *Caller, id uuid.UUID, version int64, in *ApplicationRequest) (Application, error) {
			x, err := a.as(c).UpdateApplication(ctx, c.Scope, id, version, func(x *store.Application) error { in.apply(x); return nil })
			if err != nil {
				return Application{}, err
			}
			return applicationOut(x), nil
		},
		Delete: func(ctx context.Context, c *Caller, id uuid.UUID) error {
			return a.as(c).DeleteApplication(ctx, c.Scope, id)
		},
		DomainWrites: true,
	})
}
