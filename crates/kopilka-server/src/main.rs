use anyhow::{bail, Context};
use clap::{Parser, Subcommand};
use kopilka_domain::earning::TillKind;
use kopilka_domain::member::StoreId;
use kopilka_domain::password::NewPassword;
use kopilka_domain::staff::{parse_login, Role};
use kopilka_server::settings::{Settings, SettingsArgs};
use kopilka_server::{Application, Dependencies};
use kopilka_service::staff::Caller;
use std::io::BufRead;
use std::path::PathBuf;
use tracing_subscriber::EnvFilter;

/// A request allocates many small short-lived buffers (JSON, SQL rows, HTTP headers), which
/// mimalloc serves faster than the system allocator (docs/PERFORMANCE.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Kopilka: the loyalty programme of a hypermarket chain.
#[derive(Parser)]
#[command(name = "kopilka", version)]
struct Cli {
    /// Settings file (default: ./kopilka.toml if it exists).
    #[arg(long, env = "KOPILKA_CONFIG", global = true)]
    config: Option<PathBuf>,
    #[command(flatten)]
    settings: SettingsArgs,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the API.
    Serve {
        /// Load the demo data first (idempotent).
        #[arg(long)]
        demo: bool,
    },
    /// Create and migrate the store, then exit.
    Migrate,
    /// Load data.
    Seed {
        /// The demo chain: categories and stores.
        #[arg(long)]
        demo: bool,
        /// Add this many members with cards and welcome points, for load tests.
        #[arg(long)]
        members: Option<usize>,
        /// Write the new members' active card numbers here, one a line.
        #[arg(long, requires = "members")]
        cards_out: Option<PathBuf>,
        /// Date the new members this many days back, with their welcome points: lets a
        /// rehearsal of the expiry job find due lots.
        #[arg(
            long,
            requires = "members",
            conflicts_with = "demo",
            default_value_t = 0
        )]
        joined_days_ago: u32,
    },
    /// Back-office accounts.
    Staff {
        #[command(subcommand)]
        command: StaffCommand,
    },
    /// Employees' own accounts.
    Employee {
        #[command(subcommand)]
        command: EmployeeCommand,
    },
    /// Till keys.
    Till {
        #[command(subcommand)]
        command: TillCommand,
    },
    /// Physical card batches.
    Cards {
        #[command(subcommand)]
        command: CardsCommand,
    },
    /// Run the expiry job once, now.
    Expire,
}

#[derive(Subcommand)]
enum TillCommand {
    /// Create a till key for a store; the key is printed once, alone on the last line.
    Create {
        #[arg(long)]
        store: i64,
        /// staffed or self_checkout
        #[arg(long)]
        kind: String,
    },
    /// List every till, oldest first: id, store_id, kind, status, created_at (tab-separated).
    List,
    /// Revoke a till's key: it is refused on every node within the key cache's lifetime.
    Revoke { id: i64 },
}

#[derive(Subcommand)]
enum EmployeeCommand {
    /// Open an employee's account; the temporary password is printed once, alone on the last
    /// line, and must be changed at first sign-in.
    Create {
        #[arg(long)]
        login: String,
        /// Full name: surname, first name, patronymic.
        #[arg(long)]
        name: String,
        #[arg(long)]
        position: String,
        #[arg(long)]
        store: i64,
        /// Date of hire, YYYY-MM-DD.
        #[arg(long)]
        hired: String,
    },
}

#[derive(Subcommand)]
enum CardsCommand {
    /// Print a batch of new unbound physical card numbers (and store them).
    Issue {
        #[arg(long)]
        count: usize,
        /// Write the numbers to this file instead of standard output.
        #[arg(long)]
        out: Option<PathBuf>,
    },
}

#[derive(Subcommand)]
enum StaffCommand {
    /// Create a staff account; the password is read from standard input.
    Create {
        #[arg(long)]
        login: String,
        /// admin, marketing, support, store_manager, hr or accounting; repeat for several.
        #[arg(long = "role", required = true)]
        roles: Vec<Role>,
    },
    /// Disable an account: no more sign-ins, and every session of theirs ends.
    Disable {
        #[arg(long)]
        login: String,
    },
    /// Set a new password, read from standard input; every session of theirs ends.
    Password {
        #[arg(long)]
        login: String,
    },
    /// Enrol a second factor (TOTP); prints its otpauth:// URI once.
    Totp {
        #[arg(long)]
        login: String,
    },
}

/// A password from the first line of standard input, checked against the policy.
fn password_from_stdin(settings: &Settings, login: &str) -> anyhow::Result<NewPassword> {
    let mut password = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut password)
        .context("reading the password from standard input")?;
    let password = password.trim_end_matches(['\n', '\r']);
    NewPassword::parse(password, settings.staff_password_min_chars, &[login])
        .map_err(|e| anyhow::anyhow!("password: {e}"))
}

fn init_tracing(format: &str) {
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    if format == "json" {
        builder.json().init();
    } else {
        builder.init();
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let settings =
        Settings::load(cli.settings, cli.config.as_deref()).context("loading settings")?;
    init_tracing(&settings.log_format);
    match cli.command {
        Command::Serve { demo } => {
            let app = Application::build(&settings, Dependencies::default()).await?;
            if demo {
                let report = kopilka_server::seed::demo(app.kopilka()).await?;
                tracing::info!(
                    categories = report.categories,
                    stores = report.stores,
                    products = report.products,
                    promotions = report.promotions,
                    offers = report.offers,
                    "demo data loaded"
                );
            }
            tracing::info!(port = app.port(), database = %redact_url(&settings.database_url), "listening on {}", settings.listen);
            app.run_until_stopped().await?;
        }
        Command::Migrate => {
            kopilka_server::open_store(&settings).await?;
            println!("migrated {}", redact_url(&settings.database_url));
        }
        Command::Seed {
            demo,
            members,
            cards_out,
            joined_days_ago,
        } => {
            if !demo && members.is_none() {
                bail!("nothing to seed: pass --demo and/or --members N");
            }
            let mut deps = Dependencies::default();
            if joined_days_ago > 0 {
                let then = chrono::Utc::now() - chrono::Duration::days(i64::from(joined_days_ago));
                deps.clock = std::sync::Arc::new(kopilka_domain::ManualClock::new(then));
            }
            let kopilka = kopilka_server::kopilka(&settings, deps).await?;
            if demo {
                let report = kopilka_server::seed::demo(&kopilka).await?;
                println!(
                    "demo data: {} categories, {} stores, {} products, {} promotions and events, {} offers",
                    report.categories, report.stores, report.products, report.promotions, report.offers
                );
            }
            if let Some(count) = members {
                let started = std::time::Instant::now();
                let cards = kopilka.seed_members(count).await?;
                println!(
                    "{} members added in {:.1} s",
                    cards.len(),
                    started.elapsed().as_secs_f64()
                );
                if let Some(path) = cards_out {
                    let text: String = cards.iter().map(|c| format!("{c}\n")).collect();
                    std::fs::write(&path, text)
                        .with_context(|| format!("writing {}", path.display()))?;
                    println!("card numbers in {}", path.display());
                }
            }
        }
        Command::Staff {
            command: StaffCommand::Create { login, roles },
        } => {
            let login = parse_login(&login).map_err(anyhow::Error::msg)?;
            let password = password_from_stdin(&settings, &login)?;
            let kopilka = kopilka_server::kopilka(&settings, Dependencies::default()).await?;
            let staff = kopilka.create_staff(&login, &password, &roles).await?;
            let roles: Vec<&str> = staff.roles.iter().map(|r| r.as_str()).collect();
            println!(
                "staff {} created (id {}) with roles {}",
                staff.login,
                staff.id,
                roles.join(", ")
            );
        }
        Command::Staff {
            command: StaffCommand::Disable { login },
        } => {
            let kopilka = kopilka_server::kopilka(&settings, Dependencies::default()).await?;
            kopilka.disable_staff(&login).await?;
            println!("staff {login} disabled; their sessions have ended");
        }
        Command::Staff {
            command: StaffCommand::Password { login },
        } => {
            let password = password_from_stdin(&settings, &login)?;
            let kopilka = kopilka_server::kopilka(&settings, Dependencies::default()).await?;
            kopilka.set_staff_password(&login, &password).await?;
            println!("password of staff {login} changed; their sessions have ended");
        }
        Command::Staff {
            command: StaffCommand::Totp { login },
        } => {
            let kopilka = kopilka_server::kopilka(&settings, Dependencies::default()).await?;
            let uri = kopilka.enrol_staff_totp(&login).await?;
            println!("second factor of staff {login} enrolled; add it to an authenticator app, shown only now:");
            println!("{uri}");
        }
        Command::Employee {
            command:
                EmployeeCommand::Create {
                    login,
                    name,
                    position,
                    store,
                    hired,
                },
        } => {
            let kopilka = kopilka_server::kopilka(&settings, Dependencies::default()).await?;
            let input = kopilka_service::employees::EmployeeInput {
                login: &login,
                full_name: &name,
                position: &position,
                store_id: StoreId::new(store),
                hired_on: &hired,
            };
            let (employee, password) = match kopilka.create_employee_cli(&input).await {
                Err(kopilka_service::ServiceError::Domain(
                    kopilka_domain::DomainError::Validation(fields),
                )) => {
                    let texts = kopilka_text::Lang::En.texts();
                    let said: Vec<String> = fields
                        .iter()
                        .map(|f| format!("{}: {}", f.field, texts.render(&f.message)))
                        .collect();
                    anyhow::bail!("{}", said.join("; "));
                }
                other => other?,
            };
            println!(
                "employee {} created (id {}), {}; their temporary password, shown only now:",
                employee.login, employee.id, employee.full_name
            );
            println!("{password}");
        }
        Command::Till {
            command: TillCommand::List,
        } => {
            let kopilka = kopilka_server::kopilka(&settings, Dependencies::default()).await?;
            for t in kopilka.tills(Caller::Cli, None).await? {
                println!(
                    "{}\t{}\t{}\t{}\t{}",
                    t.till.id,
                    t.till.store_id,
                    t.till.kind.as_str(),
                    if t.revoked_at.is_some() {
                        "revoked"
                    } else {
                        "active"
                    },
                    t.created_at
                        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
                );
            }
        }
        Command::Till {
            command: TillCommand::Revoke { id },
        } => {
            let kopilka = kopilka_server::kopilka(&settings, Dependencies::default()).await?;
            kopilka
                .revoke_till(Caller::Cli, kopilka_domain::earning::TillId::new(id))
                .await?;
            println!("till {id} revoked");
        }
        Command::Till {
            command: TillCommand::Create { store, kind },
        } => {
            let kind = TillKind::parse(&kind).map_err(anyhow::Error::msg)?;
            let kopilka = kopilka_server::kopilka(&settings, Dependencies::default()).await?;
            let (till, key) = kopilka
                .create_till(Caller::Cli, StoreId::new(store), kind)
                .await?;
            let till = till.till;
            println!(
                "till {} of store {} ({}); its key, shown only now:",
                till.id,
                till.store_id,
                till.kind.as_str()
            );
            println!("{key}");
        }
        Command::Cards {
            command: CardsCommand::Issue { count, out },
        } => {
            let kopilka = kopilka_server::kopilka(&settings, Dependencies::default()).await?;
            let numbers = kopilka.issue_cards(Caller::Cli, count).await?.numbers;
            let text: String = numbers.iter().map(|n| format!("{n}\n")).collect();
            match out {
                Some(path) => {
                    std::fs::write(&path, text)
                        .with_context(|| format!("writing {}", path.display()))?;
                    println!(
                        "{} cards issued, numbers in {}",
                        numbers.len(),
                        path.display()
                    );
                }
                None => print!("{text}"),
            }
        }
        Command::Expire => {
            let kopilka = kopilka_server::kopilka(&settings, Dependencies::default()).await?;
            let lots = kopilka.expire_points().await?;
            println!("{lots} lots expired");
        }
    }
    Ok(())
}

/// A database URL fit for a log line: no password.
fn redact_url(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let creds = &url[scheme + 3..at];
            match creds.split_once(':') {
                Some((user, _)) => format!("{}{user}:***{}", &url[..scheme + 3], &url[at..]),
                None => url.to_owned(),
            }
        }
        _ => url.to_owned(),
    }
}
