//! A fault-injecting HTTP/1.1 proxy for tests: sits on 127.0.0.1 between a client (vodesk) and a loopback
//! server (the moto emulator, s3s-fs) and breaks chosen requests the way a bad network or an overloaded S3
//! does. Faults are rules (which request, what to do, how many times) that a test adds or clears while
//! traffic flows; link-wide conditions (a bandwidth cap, the network gone) are switches. Every request is
//! parsed (request line, headers, body framing), so a fault can hit "the PUT of part 3" even on a reused
//! keep-alive connection. The proxy counts what went through, and what it broke.
//!
//! Besides S3's REST requests it knows the other AWS protocols by their operation: the `X-Amz-Target`
//! header of the JSON protocols (DynamoDB, SQS) and the `Action=` of the query protocol (SNS,
//! CloudFormation; a small form body is read ahead for it), so [`Fault::Deny`] can refuse one
//! operation with the AccessDenied answer that protocol gives.
//!
//! It runs on its own thread and runtime, so that tests blocking their own runtime (a `Command::output`)
//! cannot starve it; dropping the [`FaultProxy`] stops it and closes every connection it holds. It only
//! ever connects to the one loopback address it was given.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use tokio::io::{
    AsyncBufRead, AsyncBufReadExt, AsyncReadExt, AsyncWrite, AsyncWriteExt, BufReader,
};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinSet;
use tokio::time::Instant;

/// Longest request or response head the proxy accepts (S3's are a few KiB).
const MAX_HEAD: usize = 64 * 1024;
/// Bytes moved per step when copying a body: small enough for bandwidth caps and byte-exact faults.
const STEP: usize = 16 * 1024;

/// What kind of S3 request a request line is (path-style addressing: `/bucket/key?query`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) enum RequestKind {
    CreateMultipartUpload,
    UploadPart,
    CompleteMultipartUpload,
    AbortMultipartUpload,
    ListParts,
    ListMultipartUploads,
    PutObject,
    HeadObject,
    GetObject,
    Other,
}

/// Which requests a rule applies to. Every condition given must hold.
#[derive(Debug, Clone, Default)]
pub(crate) struct Matcher {
    kind: Option<RequestKind>,
    method: Option<String>,
    part_number: Option<u32>,
    key_suffix: Option<String>,
    target_contains: Option<String>,
    operation: Option<String>,
}

impl Matcher {
    /// Every request.
    pub(crate) fn any() -> Self {
        Self::default()
    }

    /// Requests of one kind.
    pub(crate) fn kind(kind: RequestKind) -> Self {
        Self {
            kind: Some(kind),
            ..Self::default()
        }
    }

    /// The UploadPart of part `number`.
    pub(crate) fn upload_part(number: u32) -> Self {
        Self::kind(RequestKind::UploadPart).part(number)
    }

    /// Only requests whose `partNumber` is `number`.
    pub(crate) fn part(mut self, number: u32) -> Self {
        self.part_number = Some(number);
        self
    }

    /// Only requests with this HTTP method.
    pub(crate) fn method(mut self, method: &str) -> Self {
        self.method = Some(method.to_ascii_uppercase());
        self
    }

    /// Only requests whose object key (as sent, percent-encoded) ends with `suffix`, e.g. `.json`.
    pub(crate) fn key_suffix(mut self, suffix: &str) -> Self {
        self.key_suffix = Some(suffix.to_owned());
        self
    }

    /// Only requests whose target (path and query, as sent) contains `text`.
    pub(crate) fn target_contains(mut self, text: &str) -> Self {
        self.target_contains = Some(text.to_owned());
        self
    }

    /// Requests of one operation of a JSON or query protocol service, as the SDK names it
    /// (`CreateQueue`, `Query`, `Subscribe`, `DescribeStacks`).
    pub(crate) fn operation(name: &str) -> Self {
        Self {
            operation: Some(name.to_owned()),
            ..Self::default()
        }
    }

    fn matches(&self, head: &RequestHead) -> bool {
        self.kind.is_none_or(|k| k == head.kind)
            && self.method.as_deref().is_none_or(|m| m == head.method)
            && self
                .part_number
                .is_none_or(|n| head.query("partNumber") == Some(n.to_string().as_str()))
            && self
                .key_suffix
                .as_deref()
                .is_none_or(|s| head.key().is_some_and(|k| k.ends_with(s)))
            && self
                .target_contains
                .as_deref()
                .is_none_or(|t| head.target.contains(t))
            && self
                .operation
                .as_deref()
                .is_none_or(|o| head.operation.as_deref() == Some(o))
    }
}

/// Which way a stall holds bytes back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Direction {
    /// Client to server (the request body).
    Request,
    /// Server to client (the response, before its first byte).
    Response,
    Both,
}

/// An S3-shaped error the proxy answers itself, without forwarding the request.
#[derive(Debug, Clone)]
pub(crate) struct ErrorReply {
    pub status: u16,
    pub reason: &'static str,
    pub code: &'static str,
    pub message: &'static str,
}

impl ErrorReply {
    /// S3's throttling answer.
    pub(crate) fn slow_down() -> Self {
        Self {
            status: 503,
            reason: "Slow Down",
            code: "SlowDown",
            message: "Please reduce your request rate.",
        }
    }

    /// S3's "try again" answer.
    pub(crate) fn internal_error() -> Self {
        Self {
            status: 500,
            reason: "Internal Server Error",
            code: "InternalError",
            message: "We encountered an internal error. Please try again.",
        }
    }

    /// S3's answer about a multipart upload that is gone (completed or aborted).
    pub(crate) fn no_such_upload() -> Self {
        Self {
            status: 404,
            reason: "Not Found",
            code: "NoSuchUpload",
            message: "The specified upload does not exist. The upload ID may be invalid, or the upload may have been aborted or completed.",
        }
    }

    fn to_bytes(&self) -> Vec<u8> {
        let body = format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>{}</Code><Message>{}</Message>\
             <RequestId>FAULTPROXY0000001</RequestId><HostId>fault-proxy</HostId></Error>",
            self.code, self.message
        );
        format!(
            "HTTP/1.1 {} {}\r\nContent-Type: application/xml\r\nContent-Length: {}\r\n\
             x-amz-request-id: FAULTPROXY0000001\r\n\r\n{body}",
            self.status,
            self.reason,
            body.len()
        )
        .into_bytes()
    }
}

/// What the proxy does to a matched request.
#[derive(Debug, Clone)]
pub(crate) enum Fault {
    /// Forward the head and this many body bytes, then reset both connections (a cut mid-part).
    ResetAfterRequestBytes(u64),
    /// Hold bytes back for `duration`: the request body after `after_request_bytes` of it, and/or the
    /// response before its first byte. The request then completes normally.
    Stall {
        direction: Direction,
        after_request_bytes: u64,
        duration: Duration,
    },
    /// Forward the request, read the whole response, give the client only its first `bytes`, then close.
    TruncateResponse(u64),
    /// Forward the request, read the whole response (the server acted), close the client's connection
    /// without a byte of it.
    DropResponse,
    /// Answer this error without forwarding anything.
    Respond(ErrorReply),
    /// Answer AccessDenied without forwarding anything, in the request's protocol: S3's XML, the
    /// JSON protocols' `__type`, or the query protocol's `ErrorResponse` (SNS says
    /// AuthorizationError).
    Deny,
}

impl std::fmt::Display for Fault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::ResetAfterRequestBytes(n) => write!(f, "reset after {n} request body bytes"),
            Self::Stall {
                direction,
                after_request_bytes,
                duration,
            } => write!(
                f,
                "stall {direction:?} for {duration:?} (after {after_request_bytes} request body bytes)"
            ),
            Self::TruncateResponse(n) => write!(f, "response truncated after {n} bytes"),
            Self::DropResponse => write!(f, "response dropped after the server answered"),
            Self::Respond(reply) => write!(f, "answered {} {}", reply.status, reply.code),
            Self::Deny => write!(f, "denied"),
        }
    }
}

/// A fault and the requests it applies to. `remaining: None` fires on every match.
#[derive(Debug, Clone)]
pub(crate) struct Rule {
    pub matcher: Matcher,
    pub fault: Fault,
    pub remaining: Option<u32>,
}

impl Rule {
    /// Fires on the first matching request only.
    pub(crate) fn once(matcher: Matcher, fault: Fault) -> Self {
        Self::times(matcher, fault, 1)
    }

    /// Fires on the first `n` matching requests.
    pub(crate) fn times(matcher: Matcher, fault: Fault, n: u32) -> Self {
        Self {
            matcher,
            fault,
            remaining: Some(n),
        }
    }

    /// Fires on every matching request.
    pub(crate) fn always(matcher: Matcher, fault: Fault) -> Self {
        Self {
            matcher,
            fault,
            remaining: None,
        }
    }
}

/// One request the proxy saw.
#[derive(Debug, Clone)]
pub(crate) struct SeenRequest {
    pub kind: RequestKind,
    pub method: String,
    pub target: String,
    /// The operation of a JSON or query protocol request.
    pub operation: Option<String>,
    /// The fault applied to it, if any.
    pub fault: Option<String>,
}

/// What went through the proxy so far.
#[derive(Debug, Clone, Default)]
pub(crate) struct Stats {
    /// Client connections accepted (including those refused while offline).
    pub connections: u64,
    /// Every request head read from a client, in order.
    pub requests: Vec<SeenRequest>,
    /// Connections reset because the network was off.
    pub offline_resets: u64,
}

impl Stats {
    /// How many requests of `kind` reached the proxy.
    pub(crate) fn count(&self, kind: RequestKind) -> usize {
        self.requests.iter().filter(|r| r.kind == kind).count()
    }

    /// Requests per kind.
    pub(crate) fn by_kind(&self) -> BTreeMap<RequestKind, usize> {
        let mut out = BTreeMap::new();
        for r in &self.requests {
            *out.entry(r.kind).or_default() += 1;
        }
        out
    }

    /// The faults applied, in order, as `"<fault> on <METHOD target>"`.
    pub(crate) fn fired(&self) -> Vec<String> {
        self.requests
            .iter()
            .filter_map(|r| {
                r.fault
                    .as_ref()
                    .map(|f| format!("{f} on {} {}", r.method, r.target))
            })
            .collect()
    }
}

#[derive(Debug, Default)]
struct Plan {
    rules: Vec<Rule>,
    /// Bytes per second across every connection and both directions.
    rate_limit: Option<u64>,
    /// Every connection is reset: new ones at once, open ones at their next step.
    offline: bool,
}

#[derive(Debug, Default)]
struct Shared {
    plan: Mutex<Plan>,
    stats: Mutex<Stats>,
    /// When the shared link is free again (the bandwidth cap's clock).
    link_free_at: Mutex<Option<Instant>>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl Shared {
    fn offline(&self) -> bool {
        lock(&self.plan).offline
    }

    /// Waits until `n` more bytes fit through the capped link (no wait without a cap).
    async fn pace(&self, n: usize) {
        let Some(rate) = lock(&self.plan).rate_limit.filter(|r| *r > 0) else {
            return;
        };
        let due = {
            let mut free = lock(&self.link_free_at);
            let now = Instant::now();
            let start = free.filter(|t| *t > now).unwrap_or(now);
            let due = start + Duration::from_secs_f64(n as f64 / rate as f64);
            *free = Some(due);
            due
        };
        tokio::time::sleep_until(due).await;
    }

    /// The fault for this request (consuming one use of its rule), recorded with the request.
    fn take_fault(&self, head: &RequestHead) -> Option<Fault> {
        let fault = {
            let mut plan = lock(&self.plan);
            let rule = plan
                .rules
                .iter_mut()
                .find(|r| r.remaining != Some(0) && r.matcher.matches(head));
            rule.map(|rule| {
                if let Some(n) = rule.remaining.as_mut() {
                    *n -= 1;
                }
                rule.fault.clone()
            })
        };
        lock(&self.stats).requests.push(SeenRequest {
            kind: head.kind,
            method: head.method.clone(),
            target: head.target.clone(),
            operation: head.operation.clone(),
            fault: fault.as_ref().map(ToString::to_string),
        });
        fault
    }
}

/// A running proxy. Dropping it stops it.
pub(crate) struct FaultProxy {
    addr: SocketAddr,
    shared: Arc<Shared>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl FaultProxy {
    /// A proxy on a free 127.0.0.1 port forwarding to `target`, which must be a loopback address.
    pub(crate) fn start(target: SocketAddr) -> Self {
        assert!(
            target.ip().is_loopback(),
            "the fault proxy forwards to loopback only, not {target}"
        );
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind the fault proxy");
        listener
            .set_nonblocking(true)
            .expect("a non-blocking listener");
        let addr = listener.local_addr().expect("the proxy's address");
        let shared = Arc::new(Shared::default());
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let thread = {
            let shared = shared.clone();
            std::thread::Builder::new()
                .name("fault-proxy".into())
                .spawn(move || {
                    let runtime = tokio::runtime::Builder::new_current_thread()
                        .enable_all()
                        .build()
                        .expect("the fault proxy's runtime");
                    runtime.block_on(async move {
                        let listener =
                            TcpListener::from_std(listener).expect("register the listener");
                        tokio::select! {
                            _ = stopped => {}
                            () = accept_loop(listener, target, shared) => {}
                        }
                    });
                    // Dropping the runtime here (its own thread) cancels every connection task.
                })
                .expect("start the fault proxy thread")
        };
        Self {
            addr,
            shared,
            stop: Some(stop),
            thread: Some(thread),
        }
    }

    /// A proxy in front of an `http://127.0.0.1:PORT` endpoint.
    pub(crate) fn for_endpoint(endpoint: &str) -> Self {
        let authority = endpoint
            .strip_prefix("http://")
            .unwrap_or_else(|| panic!("not an http:// endpoint: {endpoint}"))
            .trim_end_matches('/');
        let target: SocketAddr = authority
            .parse()
            .unwrap_or_else(|e| panic!("{endpoint} is not http://IP:PORT: {e}"));
        Self::start(target)
    }

    pub(crate) fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:PORT`, to give to the client under test.
    pub(crate) fn endpoint(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Adds a rule after the existing ones (the first matching rule with uses left fires).
    pub(crate) fn add(&self, rule: Rule) {
        lock(&self.shared.plan).rules.push(rule);
    }

    /// Removes every rule (switches stay as they are).
    pub(crate) fn clear_rules(&self) {
        lock(&self.shared.plan).rules.clear();
    }

    /// Caps the bandwidth shared by all connections, both directions (`None`: no cap).
    pub(crate) fn set_rate_limit(&self, bytes_per_second: Option<u64>) {
        lock(&self.shared.plan).rate_limit = bytes_per_second;
    }

    /// Takes the network away (every connection reset, new ones at once) or gives it back.
    pub(crate) fn set_offline(&self, offline: bool) {
        lock(&self.shared.plan).offline = offline;
    }

    /// Rules not used up yet (a one-shot fault that never matched is a test that proved nothing).
    pub(crate) fn pending_rules(&self) -> Vec<Rule> {
        lock(&self.shared.plan)
            .rules
            .iter()
            .filter(|r| r.remaining.is_some_and(|n| n > 0))
            .cloned()
            .collect()
    }

    pub(crate) fn stats(&self) -> Stats {
        lock(&self.shared.stats).clone()
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take()
            && stop.send(()).is_err()
        {
            // The proxy's thread has already ended (its receiver is gone): nothing left to stop.
        }
        if let Some(thread) = self.thread.take()
            && thread.join().is_err()
        {
            // The proxy's thread panicked; its message is already printed and the test reports it.
        }
    }
}

async fn accept_loop(listener: TcpListener, target: SocketAddr, shared: Arc<Shared>) {
    // Owned here: when the loop is dropped (the proxy stops), every connection task is aborted.
    let mut connections = JoinSet::new();
    loop {
        while connections.try_join_next().is_some() {}
        let Ok((client, _)) = listener.accept().await else {
            tokio::time::sleep(Duration::from_millis(10)).await;
            continue;
        };
        lock(&shared.stats).connections += 1;
        if shared.offline() {
            lock(&shared.stats).offline_resets += 1;
            reset(client);
            continue;
        }
        connections.spawn(serve(client, target, shared.clone()));
    }
}

/// Closes with a TCP RST (SO_LINGER 0), as a cut network or a crashed peer looks.
fn reset(stream: TcpStream) {
    if stream.set_zero_linger().is_err() {
        // The socket is already dead, which is what a reset is for: dropping it closes it anyway.
    }
    drop(stream);
}

/// Why a connection's exchange stopped early.
#[derive(Debug)]
enum Cut {
    /// Reset both sides (a fault, or the network went offline).
    Reset,
    /// Close the client's side quietly (FIN).
    Close,
    /// Either peer closed or failed: nothing more to do.
    Io,
}

impl From<std::io::Error> for Cut {
    fn from(_: std::io::Error) -> Self {
        Self::Io
    }
}

struct Conn {
    client_r: BufReader<OwnedReadHalf>,
    client_w: OwnedWriteHalf,
    server_r: BufReader<OwnedReadHalf>,
    server_w: OwnedWriteHalf,
}

impl Conn {
    fn reset_all(self) {
        if let Ok(client) = self.client_r.into_inner().reunite(self.client_w) {
            reset(client);
        }
        if let Ok(server) = self.server_r.into_inner().reunite(self.server_w) {
            reset(server);
        }
    }
}

async fn serve(client: TcpStream, target: SocketAddr, shared: Arc<Shared>) {
    let Ok(server) = TcpStream::connect(target).await else {
        reset(client);
        return;
    };
    for stream in [&client, &server] {
        if stream.set_nodelay(true).is_err() {
            // Nagle only delays small writes; a socket that refuses the option still carries the bytes.
        }
    }
    let (client_r, client_w) = client.into_split();
    let (server_r, server_w) = server.into_split();
    let mut conn = Conn {
        client_r: BufReader::with_capacity(STEP, client_r),
        client_w,
        server_r: BufReader::with_capacity(STEP, server_r),
        server_w,
    };
    loop {
        match exchange(&mut conn, &shared).await {
            Ok(true) => continue,
            Ok(false) | Err(Cut::Io) => return,
            Err(Cut::Close) => {
                if conn.client_w.shutdown().await.is_err() {
                    // The client has already gone: the connection is closed either way.
                }
                return;
            }
            Err(Cut::Reset) => {
                conn.reset_all();
                return;
            }
        }
    }
}

/// One request and its response. `Ok(true)`: the connection can carry another.
async fn exchange(conn: &mut Conn, shared: &Shared) -> Result<bool, Cut> {
    let Some(raw) = read_head(&mut conn.client_r).await? else {
        return Ok(false);
    };
    let mut head = RequestHead::parse(&raw).ok_or(Cut::Io)?;
    if shared.offline() {
        lock(&shared.stats).offline_resets += 1;
        return Err(Cut::Reset);
    }
    // A query protocol request names its operation in its (small) form body: read it ahead.
    let prefetched = match head.framing {
        Framing::Length(n) if head.form && n <= MAX_HEAD as u64 => {
            let mut body = vec![0; usize::try_from(n).unwrap_or(0)];
            conn.client_r.read_exact(&mut body).await?;
            if head.operation.is_none() {
                head.operation = form_value(&body, "Action");
            }
            Some(body)
        }
        _ => None,
    };
    let fault = shared.take_fault(&head);
    let mut gate = Gate::default();
    let mut response_stall = None;
    let reply = match &fault {
        Some(Fault::Respond(reply)) => Some(reply.to_bytes()),
        Some(Fault::Deny) => Some(denial(&head)),
        _ => None,
    };
    if let Some(reply) = reply {
        // Read the body first: closing on unread bytes would turn the answer into a reset.
        if prefetched.is_none() {
            copy_body(
                &mut conn.client_r,
                &mut tokio::io::sink(),
                head.framing,
                &mut Gate::default(),
                shared,
            )
            .await?;
        }
        conn.client_w.write_all(&reply).await?;
        conn.client_w.flush().await?;
        return Ok(!head.close);
    }
    match &fault {
        Some(Fault::ResetAfterRequestBytes(n)) => gate.reset_at = Some(*n),
        Some(Fault::Stall {
            direction,
            after_request_bytes,
            duration,
        }) => {
            if matches!(direction, Direction::Request | Direction::Both) {
                gate.stall_at = Some((*after_request_bytes, *duration));
            }
            if matches!(direction, Direction::Response | Direction::Both) {
                response_stall = Some(*duration);
            }
        }
        _ => {}
    }
    let Conn {
        client_r,
        client_w,
        server_r,
        server_w,
    } = conn;
    let upstream = async {
        server_w.write_all(&raw).await?;
        match &prefetched {
            Some(body) => server_w.write_all(body).await?,
            None => copy_body(client_r, server_w, head.framing, &mut gate, shared).await?,
        }
        server_w.flush().await?;
        Ok::<(), Cut>(())
    };
    let downstream = async {
        match &fault {
            Some(Fault::DropResponse) => {
                read_response(server_r, &mut tokio::io::sink(), &head, shared).await?;
                Err(Cut::Close)
            }
            Some(Fault::TruncateResponse(n)) => {
                let mut whole = Vec::new();
                read_response(server_r, &mut whole, &head, shared).await?;
                let keep = whole.len().min(usize::try_from(*n).unwrap_or(usize::MAX));
                client_w.write_all(&whole[..keep]).await?;
                client_w.flush().await?;
                Err(Cut::Close)
            }
            _ => {
                if let Some(stall) = response_stall {
                    // Wait for the response to exist, then hold it back.
                    server_r.fill_buf().await?;
                    tokio::time::sleep(stall).await;
                }
                let keep_alive = read_response(server_r, client_w, &head, shared).await?;
                client_w.flush().await?;
                Ok::<bool, Cut>(keep_alive)
            }
        }
    };
    let ((), keep_alive) = tokio::try_join!(upstream, downstream)?;
    Ok(keep_alive && !head.close)
}

/// Byte positions in a request body where a fault acts.
#[derive(Debug, Default)]
struct Gate {
    copied: u64,
    reset_at: Option<u64>,
    stall_at: Option<(u64, Duration)>,
}

impl Gate {
    /// How many bytes may go before the next action.
    fn room(&self) -> u64 {
        [self.reset_at, self.stall_at.map(|(at, _)| at)]
            .into_iter()
            .flatten()
            .map(|at| at.saturating_sub(self.copied))
            .min()
            .unwrap_or(u64::MAX)
    }

    /// Acts when `copied` reached a fault's position.
    async fn act(&mut self) -> Result<(), Cut> {
        if self.reset_at.is_some_and(|at| self.copied >= at) {
            return Err(Cut::Reset);
        }
        if let Some((at, duration)) = self.stall_at
            && self.copied >= at
        {
            self.stall_at = None;
            tokio::time::sleep(duration).await;
        }
        Ok(())
    }
}

/// How a message's body is delimited.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Framing {
    None,
    Length(u64),
    Chunked,
    /// Until the server closes (a response without length).
    UntilClose,
}

/// Copies exactly `n` bytes, step by step, paced by the link and subject to the gate and the network.
async fn copy_exact<R, W>(
    from: &mut R,
    to: &mut W,
    mut n: u64,
    gate: &mut Gate,
    shared: &Shared,
) -> Result<(), Cut>
where
    R: AsyncBufRead + Unpin,
    W: AsyncWrite + Unpin,
{
    gate.act().await?;
    while n > 0 {
        if shared.offline() {
            return Err(Cut::Reset);
        }
        let available = from.fill_buf().await?;
        if available.is_empty() {
            return Err(Cut::Io);
        }
        let step = (available.len() as u64)
            .min(n)
            .min(STEP as u64)
            .min(gate.room().max(1));
        let step = usize::try_from(step).unwrap_or(STEP);
        shared.pace(step).await;
        to.write_all(&available[..step]).await?;
        from.consume(step);
        n -= step as u64;
        gate.copied += step as u64;
        gate.act().await?;
    }
    Ok(())
}

/// Copies a body in its framing (chunk sizes and trailers included, as they are).
async fn copy_body<R, W>(
    from: &mut R,
    to: &mut W,
    framing: Framing,
    gate: &mut Gate,
    shared: &Shared,
) -> Result<(), Cut>
where
    R: AsyncBufRead + Unpin,
    W: AsyncWrite + Unpin,
{
    match framing {
        Framing::None => Ok(()),
        Framing::Length(n) => copy_exact(from, to, n, gate, shared).await,
        Framing::UntilClose => loop {
            if shared.offline() {
                return Err(Cut::Reset);
            }
            let available = from.fill_buf().await?;
            if available.is_empty() {
                return Ok(());
            }
            let step = available.len().min(STEP);
            shared.pace(step).await;
            to.write_all(&available[..step]).await?;
            from.consume(step);
        },
        Framing::Chunked => loop {
            let line = read_line(from).await?;
            to.write_all(&line).await?;
            let text = String::from_utf8_lossy(&line);
            let size_text = text
                .trim()
                .split(';')
                .next()
                .unwrap_or("")
                .trim()
                .to_owned();
            let size = u64::from_str_radix(&size_text, 16).map_err(|_| Cut::Io)?;
            if size == 0 {
                // Trailers, then the empty line.
                loop {
                    let trailer = read_line(from).await?;
                    to.write_all(&trailer).await?;
                    if trailer == b"\r\n" || trailer == b"\n" {
                        return Ok(());
                    }
                }
            }
            copy_exact(from, to, size, gate, shared).await?;
            let crlf = read_line(from).await?;
            to.write_all(&crlf).await?;
        },
    }
}

async fn read_line<R: AsyncBufRead + Unpin>(from: &mut R) -> Result<Vec<u8>, Cut> {
    let mut line = Vec::new();
    let n = (&mut *from)
        .take(MAX_HEAD as u64)
        .read_until(b'\n', &mut line)
        .await?;
    if n == 0 || !line.ends_with(b"\n") {
        return Err(Cut::Io);
    }
    Ok(line)
}

/// Reads a message head (through the empty line). `None` when the peer closed before a new message.
async fn read_head<R: AsyncBufRead + Unpin>(from: &mut R) -> Result<Option<Vec<u8>>, Cut> {
    let mut head = Vec::new();
    loop {
        let mut line = Vec::new();
        let n = (&mut *from)
            .take(MAX_HEAD as u64)
            .read_until(b'\n', &mut line)
            .await?;
        if n == 0 {
            return if head.is_empty() {
                Ok(None)
            } else {
                Err(Cut::Io)
            };
        }
        // Tolerate stray empty lines between messages (RFC 9112 §2.2).
        if head.is_empty() && (line == b"\r\n" || line == b"\n") {
            continue;
        }
        head.extend_from_slice(&line);
        if line == b"\r\n" || line == b"\n" {
            return Ok(Some(head));
        }
        if head.len() > MAX_HEAD || !line.ends_with(b"\n") {
            return Err(Cut::Io);
        }
    }
}

/// Reads the server's response to `request` (interim 1xx heads included) and writes it to `to`.
/// Returns whether the connection may carry another request.
async fn read_response<R, W>(
    from: &mut R,
    to: &mut W,
    request: &RequestHead,
    shared: &Shared,
) -> Result<bool, Cut>
where
    R: AsyncBufRead + Unpin,
    W: AsyncWrite + Unpin,
{
    loop {
        if shared.offline() {
            return Err(Cut::Reset);
        }
        let raw = read_head(from).await?.ok_or(Cut::Io)?;
        let head = ResponseHead::parse(&raw).ok_or(Cut::Io)?;
        shared.pace(raw.len()).await;
        to.write_all(&raw).await?;
        if (100..200).contains(&head.status) && head.status != 101 {
            continue;
        }
        let framing = if request.method == "HEAD" || matches!(head.status, 101 | 204 | 304) {
            Framing::None
        } else {
            head.framing
        };
        copy_body(from, to, framing, &mut Gate::default(), shared).await?;
        return Ok(!head.close && framing != Framing::UntilClose);
    }
}

/// The parts of a request head the proxy needs.
#[derive(Debug, Clone)]
struct RequestHead {
    method: String,
    target: String,
    kind: RequestKind,
    framing: Framing,
    close: bool,
    /// The JSON protocols' `X-Amz-Target` (e.g. `AmazonSQS.CreateQueue`).
    amz_target: Option<String>,
    /// The body is a form (the query protocol).
    form: bool,
    /// The operation, from `X-Amz-Target` or the query protocol's `Action`.
    operation: Option<String>,
}

/// Header values that decide framing and connection reuse.
struct HeadFields {
    length: Option<u64>,
    chunked: bool,
    close: bool,
}

fn head_fields(lines: &[&str], http10: bool) -> HeadFields {
    let mut fields = HeadFields {
        length: None,
        chunked: false,
        close: http10,
    };
    for line in lines {
        let Some((name, value)) = line.split_once(':') else {
            continue;
        };
        let value = value.trim().to_ascii_lowercase();
        match name.trim().to_ascii_lowercase().as_str() {
            "content-length" => fields.length = value.parse().ok(),
            "transfer-encoding" => fields.chunked = value.contains("chunked"),
            "connection" if value.contains("close") => fields.close = true,
            "connection" if value.contains("keep-alive") => fields.close = false,
            _ => {}
        }
    }
    fields
}

impl RequestHead {
    fn parse(raw: &[u8]) -> Option<Self> {
        let text = std::str::from_utf8(raw).ok()?;
        let mut lines = text.lines();
        let mut request_line = lines.next()?.split_whitespace();
        let method = request_line.next()?.to_ascii_uppercase();
        let target = request_line.next()?.to_owned();
        let version = request_line.next()?;
        let rest: Vec<&str> = lines.collect();
        let fields = head_fields(&rest, version == "HTTP/1.0");
        let framing = if fields.chunked {
            Framing::Chunked
        } else {
            fields.length.map_or(Framing::None, Framing::Length)
        };
        let header = |wanted: &str| {
            rest.iter().find_map(|line| {
                let (name, value) = line.split_once(':')?;
                name.trim()
                    .eq_ignore_ascii_case(wanted)
                    .then(|| value.trim().to_owned())
            })
        };
        let amz_target = header("x-amz-target");
        let form = header("content-type")
            .is_some_and(|t| t.starts_with("application/x-www-form-urlencoded"));
        let mut head = Self {
            method,
            target,
            kind: RequestKind::Other,
            framing,
            close: fields.close,
            operation: amz_target
                .as_deref()
                .and_then(|t| t.rsplit('.').next())
                .map(str::to_owned),
            amz_target,
            form,
        };
        if head.operation.is_none() {
            head.operation = head.query("Action").map(str::to_owned);
        }
        head.kind = head.classify();
        Some(head)
    }

    fn path(&self) -> &str {
        self.target.split('?').next().unwrap_or("")
    }

    /// The object key of a path-style request (`/bucket/key`), if it names one.
    fn key(&self) -> Option<&str> {
        let (_bucket, key) = self.path().trim_start_matches('/').split_once('/')?;
        (!key.is_empty()).then_some(key)
    }

    /// A query parameter's value (`""` for a bare `?uploads`), as sent.
    fn query(&self, name: &str) -> Option<&str> {
        let (_, query) = self.target.split_once('?')?;
        query.split('&').find_map(|pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            (k == name).then_some(v)
        })
    }

    fn classify(&self) -> RequestKind {
        use RequestKind::*;
        let has = |name: &str| self.query(name).is_some();
        let object = self.key().is_some();
        match self.method.as_str() {
            "POST" if object && has("uploads") => CreateMultipartUpload,
            "POST" if object && has("uploadId") => CompleteMultipartUpload,
            "PUT" if object && has("uploadId") && has("partNumber") => UploadPart,
            "PUT" if object && !has("uploadId") => PutObject,
            "DELETE" if object && has("uploadId") => AbortMultipartUpload,
            "GET" if object && has("uploadId") => ListParts,
            "GET" if has("uploads") => ListMultipartUploads,
            "HEAD" if object => HeadObject,
            "GET" if object => GetObject,
            _ => Other,
        }
    }
}

struct ResponseHead {
    status: u16,
    framing: Framing,
    close: bool,
}

impl ResponseHead {
    fn parse(raw: &[u8]) -> Option<Self> {
        let text = std::str::from_utf8(raw).ok()?;
        let mut lines = text.lines();
        let mut status_line = lines.next()?.split_whitespace();
        let version = status_line.next()?;
        let status: u16 = status_line.next()?.parse().ok()?;
        let rest: Vec<&str> = lines.collect();
        let fields = head_fields(&rest, version == "HTTP/1.0");
        let framing = if fields.chunked {
            Framing::Chunked
        } else {
            fields.length.map_or(Framing::UntilClose, Framing::Length)
        };
        Some(Self {
            status,
            framing,
            close: fields.close,
        })
    }
}

/// A form field's value (`Action=Subscribe&…`), percent-decoding not needed for operation names.
fn form_value(body: &[u8], name: &str) -> Option<String> {
    String::from_utf8_lossy(body).split('&').find_map(|pair| {
        let (k, v) = pair.split_once('=')?;
        (k == name).then(|| v.to_owned())
    })
}

/// The AccessDenied answer to `head` in its protocol, as AWS words it.
fn denial(head: &RequestHead) -> Vec<u8> {
    let operation = head.operation.as_deref().unwrap_or("the operation");
    let message = format!(
        "User: arn:aws:iam::123456789012:user/fault-proxy is not authorized to perform: {operation} because no identity-based policy allows it"
    );
    let (status, reason, content_type, extra, body) = if let Some(target) = &head.amz_target {
        // SQS's JSON protocol also says the query protocol's code, which its SDK reads first.
        let extra = if target.starts_with("AmazonSQS.") {
            "x-amzn-query-error: AccessDenied;Sender\r\n"
        } else {
            ""
        };
        let body = serde_json::json!({
            "__type": "com.amazon.coral.service#AccessDeniedException",
            "message": message,
        })
        .to_string();
        (
            400,
            "Bad Request",
            "application/x-amz-json-1.0",
            extra,
            body,
        )
    } else if head.form || head.query("Action").is_some() {
        const SNS: &[&str] = &[
            "Subscribe",
            "Unsubscribe",
            "ListSubscriptionsByTopic",
            "GetTopicAttributes",
            "Publish",
        ];
        let code = if SNS.contains(&operation) {
            "AuthorizationError"
        } else {
            "AccessDenied"
        };
        let body = format!(
            "<ErrorResponse><Error><Type>Sender</Type><Code>{code}</Code><Message>{message}</Message></Error>\
             <RequestId>FAULTPROXY0000001</RequestId></ErrorResponse>"
        );
        (403, "Forbidden", "text/xml", "", body)
    } else {
        return ErrorReply {
            status: 403,
            reason: "Forbidden",
            code: "AccessDenied",
            message: "Access Denied",
        }
        .to_bytes();
    };
    format!(
        "HTTP/1.1 {status} {reason}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\n\
         x-amzn-RequestId: FAULTPROXY0000001\r\n{extra}\r\n{body}",
        body.len()
    )
    .into_bytes()
}
