//! Integration tests of the service: real routers and listeners, real receivers for the
//! outputs and webhooks, one test binary (one link) for all of them.

mod common;

mod api;
mod baselines;
mod connections;
mod contract;
mod dashboard;
mod delivery;
mod geoip;
mod graph;
mod http_outputs;
mod jwt;
mod listeners;
mod models;
mod network;
mod outputs;
mod payload;
mod quotas;
mod rules;
mod tls;
mod tokens;
mod webhooks;
mod websocket;
