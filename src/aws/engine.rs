//! The engine: one tokio runtime on its own thread doing all AWS work for the UI. The UI sends typed
//! [`Command`]s and drains typed [`Event`]s each frame; the engine wakes the UI (`request_repaint`)
//! after every event, so the UI thread never blocks and never polls in a busy loop.

use std::sync::Arc;
use std::sync::mpsc as std_mpsc;
use std::thread::JoinHandle;

use tokio::sync::mpsc as tokio_mpsc;

use crate::aws::connection::{AwsClients, ConnectionSettings};
use crate::aws::discovery::{StackOverrides, VodResources, discover};

/// What the deployment to connect to is, as the user gave it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ConnectRequest {
    pub connection: ConnectionSettings,
    pub stack: Option<String>,
    pub overrides: StackOverrides,
}

/// Work the UI asks for.
#[derive(Debug, Clone)]
pub enum Command {
    Connect(ConnectRequest),
}

/// What happened, for the UI's state to apply.
#[derive(Debug, Clone)]
pub enum Event {
    Connecting { target: String },
    Connected(Box<VodResources>),
    ConnectFailed { message: String },
}

/// Called after each event so a sleeping UI wakes up to drain it.
pub type Wake = Arc<dyn Fn() + Send + Sync>;

/// Handle held by the UI. Dropping it stops the runtime and joins its thread.
pub struct Engine {
    commands: Option<tokio_mpsc::UnboundedSender<Command>>,
    events: std_mpsc::Receiver<Event>,
    thread: Option<JoinHandle<()>>,
}

impl Engine {
    pub fn start(wake: Wake) -> std::io::Result<Self> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("vodesk-engine")
            .enable_all()
            .build()?;
        let (command_tx, mut command_rx) = tokio_mpsc::unbounded_channel::<Command>();
        let (event_tx, event_rx) = std_mpsc::channel::<Event>();
        let thread = std::thread::Builder::new()
            .name("vodesk-engine-main".into())
            .spawn(move || {
                runtime.block_on(async move {
                    let emit = Emitter {
                        events: event_tx,
                        wake,
                    };
                    while let Some(command) = command_rx.recv().await {
                        let emit = emit.clone();
                        tokio::spawn(async move { handle(command, emit).await });
                    }
                });
                // The UI is closing: cancel what is still in flight, without hanging on a stuck request.
                runtime.shutdown_timeout(std::time::Duration::from_secs(2));
            })?;
        Ok(Self {
            commands: Some(command_tx),
            events: event_rx,
            thread: Some(thread),
        })
    }

    pub fn send(&self, command: Command) {
        if let Some(tx) = &self.commands {
            // Fails only once the engine thread is gone, when nobody is left to act on it.
            let _ = tx.send(command);
        }
    }

    /// Every event that arrived since the last call, without waiting.
    pub fn drain(&self) -> impl Iterator<Item = Event> + '_ {
        self.events.try_iter()
    }
}

impl Drop for Engine {
    fn drop(&mut self) {
        self.commands = None; // closes the channel: the engine's loop ends
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

#[derive(Clone)]
struct Emitter {
    events: std_mpsc::Sender<Event>,
    wake: Wake,
}

impl Emitter {
    fn emit(&self, event: Event) {
        if self.events.send(event).is_ok() {
            (self.wake)();
        }
    }
}

async fn handle(command: Command, emit: Emitter) {
    match command {
        Command::Connect(request) => connect(request, &emit).await,
    }
}

async fn connect(request: ConnectRequest, emit: &Emitter) {
    let target = request
        .stack
        .clone()
        .unwrap_or_else(|| "the resources given by flags".into());
    emit.emit(Event::Connecting { target });
    let result = async {
        let clients = AwsClients::connect(&request.connection)
            .await
            .map_err(|e| e.to_string())?;
        discover(&clients, request.stack.as_deref(), &request.overrides)
            .await
            .map_err(|e| e.to_string())
    }
    .await;
    emit.emit(match result {
        Ok(resources) => Event::Connected(Box::new(resources)),
        Err(message) => Event::ConnectFailed { message },
    });
}
