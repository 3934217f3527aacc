//! How each kind of event becomes an edge of the graph: which nodes it names, which is the
//! source, the destination and the actor, and what the graph learns on the way (the host
//! an address belongs to, an account's SID, the management connection a source-less logon
//! came by).

use warden_event::Timestamp;

use super::{
    EdgeKey, EdgeKind, EntityGraph, INBOUND_WINDOW_MS, MANAGEMENT_PORTS, MAX_SIDS, NO_NODE, NodeId,
    NodeKind, Touched,
};
use crate::event::{Action, GraphEvent, logon_type};

const fn key(src: NodeId, dst: NodeId, actor: NodeId, kind: EdgeKind, detail: u8) -> EdgeKey {
    EdgeKey {
        src,
        dst,
        actor,
        kind,
        detail,
    }
}

impl EntityGraph {
    /// Adds one event; returns the main edge it touched (none for events that name too
    /// little to place, or when a new edge would pass the limit).
    pub fn add(&mut self, e: &GraphEvent) -> Option<Touched> {
        self.events += 1;
        let t = e.time;
        let host = e.host.as_deref().map(|h| self.intern(NodeKind::Host, h, t));
        let account = self.account_of(e);
        let key = match &e.action {
            Action::Logon { logon_type, ntlm } => {
                self.logon_key(e, account?, host?, *logon_type, *ntlm)
            }
            Action::FailedLogon { logon_type } => {
                let (account, host) = (account?, host?);
                let src = self.logon_source(e).filter(|&s| s != host);
                let actor = if src.is_some() { account } else { NO_NODE };
                key(
                    src.unwrap_or(account),
                    host,
                    actor,
                    EdgeKind::FailedLogon,
                    logon_type & 0x7f,
                )
            }
            Action::ExplicitCredentials { .. } => {
                let actor = e
                    .actor
                    .as_deref()
                    .map(|a| self.intern(NodeKind::Account, a, t));
                let on = host.unwrap_or(NO_NODE);
                key(actor?, account?, on, EdgeKind::ExplicitCredentials, 0)
            }
            Action::Privileged => key(account?, host?, NO_NODE, EdgeKind::Privileged, 0),
            Action::GroupAdd { group } => {
                let g = self.intern(NodeKind::Group, &group.to_ascii_lowercase(), t);
                let by = e
                    .actor
                    .as_deref()
                    .map(|a| self.intern(NodeKind::Account, a, t));
                key(account?, g, by.unwrap_or(NO_NODE), EdgeKind::MemberOf, 0)
            }
            Action::Ticket { service_host, .. } => {
                let service = service_host
                    .as_deref()
                    .map(|s| self.intern(NodeKind::Host, s, t));
                // The client's address is kept as a node; tickets name no workstation.
                if let Some(ip) = e.source_ip.as_deref() {
                    self.intern(NodeKind::Ip, ip, t);
                }
                let dc = host.unwrap_or(NO_NODE);
                key(account?, service.or(host)?, dc, EdgeKind::Ticket, 0)
            }
            // A detection is about an event already in the graph (or not about the graph).
            Action::Detection { .. } => return None,
            Action::ProcessStart { image, parent, .. } => {
                self.spawn_key(e, host, account, image, parent)?
            }
            Action::ProcessAccess {
                source_image,
                target_image,
                ..
            } => {
                let h = e.host.as_deref()?;
                let src = self.process_node(source_image, h, t);
                let dst = self.process_node(target_image, h, t);
                key(src, dst, account.unwrap_or(NO_NODE), EdgeKind::Access, 0)
            }
            Action::Connection {
                dest_port,
                initiated,
                ..
            } => self.connection_key(e, host, account, *dest_port, *initiated)?,
            Action::Activity {
                kind,
                resource,
                success,
            } => self.activity_key(e, account?, kind, resource.as_deref(), *success)?,
        };
        self.touch(key, t, &e.reference)
    }

    /// The account an event is about: a group member by the SID its logons carry, else by
    /// name. Logons teach the SID of their account.
    fn account_of(&mut self, e: &GraphEvent) -> Option<NodeId> {
        let by_sid = match (&e.action, e.sid.as_deref()) {
            (Action::GroupAdd { .. }, Some(sid)) => self.sid_account.get(sid).copied(),
            _ => None,
        };
        let account = by_sid.or_else(|| {
            e.account
                .as_deref()
                .map(|a| self.intern(NodeKind::Account, a, e.time))
        });
        if let (Action::Logon { .. } | Action::Privileged, Some(sid), Some(a)) =
            (&e.action, e.sid.as_deref(), account)
            && !self.sid_account.contains_key(sid)
            && self.sid_account.len() < MAX_SIDS
        {
            self.sid_account.insert(sid.into(), a);
        }
        account
    }

    /// A logon: from another machine (a remote logon, the account its actor), or on the
    /// host itself (account → host).
    fn logon_key(
        &mut self,
        e: &GraphEvent,
        account: NodeId,
        host: NodeId,
        lt: u8,
        ntlm: bool,
    ) -> EdgeKey {
        let detail = (lt & 0x7f) | if ntlm { 0x80 } else { 0 };
        match self.logon_source(e).filter(|&s| s != host) {
            Some(src) if logon_type::is_remote(lt) || lt == 0 => {
                key(src, host, account, EdgeKind::RemoteLogon, detail)
            }
            _ => key(account, host, NO_NODE, EdgeKind::Logon, detail),
        }
    }

    /// A process start: parent → child on the host (the host itself when the event names
    /// no parent, as older 4688 events do).
    fn spawn_key(
        &mut self,
        e: &GraphEvent,
        host: Option<NodeId>,
        account: Option<NodeId>,
        image: &str,
        parent: &str,
    ) -> Option<EdgeKey> {
        let h = e.host.as_deref()?;
        if image.trim().is_empty() {
            return None;
        }
        let child = self.process_node(image, h, e.time);
        let parent = if parent.trim().is_empty() {
            host?
        } else {
            self.process_node(parent, h, e.time)
        };
        Some(key(
            parent,
            child,
            account.unwrap_or(NO_NODE),
            EdgeKind::Spawn,
            0,
        ))
    }

    /// A connection. The side that logged it owns one of the two addresses; a connection
    /// to a management port is remembered as the way in for a logon that names no source.
    fn connection_key(
        &mut self,
        e: &GraphEvent,
        host: Option<NodeId>,
        account: Option<NodeId>,
        dest_port: u16,
        initiated: bool,
    ) -> Option<EdgeKey> {
        let t = e.time;
        let dst = e
            .dest_ip
            .as_deref()
            .map(|ip| self.intern(NodeKind::Ip, ip, t))?;
        let src_ip = e
            .source_ip
            .as_deref()
            .map(|ip| self.intern(NodeKind::Ip, ip, t));
        let src = if initiated {
            match (src_ip, host) {
                (Some(ip), Some(h)) => {
                    self.ip_host.insert(ip, h);
                    self.host_ip.insert(h, ip);
                    h
                }
                (None, Some(h)) => h,
                // A flow seen on the wire (Zeek): the originator is the host its address
                // was last seen as.
                (Some(ip), None) => self.host_of_ip(ip).unwrap_or(ip),
                (None, None) => return None,
            }
        } else {
            if let Some(h) = host {
                self.ip_host.insert(dst, h);
                self.host_ip.insert(h, dst);
            }
            let ip = src_ip?;
            self.host_of_ip(ip).unwrap_or(ip)
        };
        if MANAGEMENT_PORTS.contains(&dest_port) {
            self.inbound.insert(dst, (src, t));
        }
        Some(key(
            src,
            dst,
            account.unwrap_or(NO_NODE),
            EdgeKind::Connection,
            0,
        ))
    }

    /// A user activity: account → address for a sign-in, account → resource for anything
    /// else (by kind; the address is not part of the edge: feeds give a new one to every
    /// session, and the sign-ins already link the account to them).
    fn activity_key(
        &mut self,
        e: &GraphEvent,
        account: NodeId,
        kind: &str,
        resource: Option<&str>,
        success: bool,
    ) -> Option<EdgeKey> {
        let t = e.time;
        match resource {
            Some(r) => {
                let r = self.intern(NodeKind::Resource, r, t);
                let detail = warden_event::ActivityType::parse(kind) as u8;
                Some(key(account, r, NO_NODE, EdgeKind::ResourceUse, detail))
            }
            None => {
                let ip = e.source_ip.as_deref()?;
                let ip = self.intern(NodeKind::Ip, ip, t);
                Some(key(
                    account,
                    ip,
                    NO_NODE,
                    EdgeKind::SignIn,
                    u8::from(!success),
                ))
            }
        }
    }

    /// Where a logon came from: its source host, else the host its source address was
    /// last seen as, else the address itself.
    pub fn logon_source(&mut self, e: &GraphEvent) -> Option<NodeId> {
        let t = e.time;
        let ip = e
            .source_ip
            .as_deref()
            .map(|ip| self.intern(NodeKind::Ip, ip, t));
        match (e.source_host.as_deref(), ip) {
            (Some(h), ip) => {
                let host = self.intern(NodeKind::Host, h, t);
                if let Some(ip) = ip {
                    self.ip_host.insert(ip, host);
                    self.host_ip.insert(host, ip);
                }
                Some(host)
            }
            (None, Some(ip)) => Some(self.host_of_ip(ip).unwrap_or(ip)),
            (None, None) => {
                let host = e
                    .host
                    .as_deref()
                    .and_then(|h| self.find(NodeKind::Host, h))?;
                let ip = self.host_ip.get(&host)?;
                let &(src, at) = self.inbound.get(ip)?;
                (t.0.saturating_sub(at.0).abs() <= INBOUND_WINDOW_MS && src != host).then_some(src)
            }
        }
    }

    fn process_node(&mut self, image: &str, host: &str, t: Timestamp) -> NodeId {
        // `image@HOST`, built in a reused buffer: most processes are already nodes.
        let mut name = std::mem::take(&mut self.scratch);
        name.clear();
        let file = image.rsplit(['\\', '/']).next().unwrap_or(image).trim();
        name.extend(file.chars().map(|c| c.to_ascii_lowercase()));
        name.push('@');
        name.push_str(host);
        let id = self.intern(NodeKind::Process, &name, t);
        self.scratch = name;
        id
    }
}
