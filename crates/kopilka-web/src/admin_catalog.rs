//! The catalogue in the back office: products, categories and stores exported as CSV and
//! imported from it, every wrong row named by line and nothing changed then.

use crate::admin::failed;
use crate::guard::Signed;
use crate::pages::respond;
use crate::{Chrome, WebState};
use askama::Template;
use axum::body::{Body, Bytes};
use axum::extract::{Multipart, Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use kopilka_domain::DomainError;
use kopilka_service::catalog_files::{products_csv, CatalogFile};
use kopilka_service::ServiceError;
use kopilka_store::StaffMember;
use kopilka_text::Message;

#[derive(Template)]
#[template(path = "admin_catalog.html")]
struct CatalogPage {
    page: Chrome,
    notice: Option<String>,
    /// The file refused, and its wrong rows (line, message).
    refused: Option<(String, Vec<(u64, String)>)>,
}

fn file_label(t: &kopilka_text::Texts, file: CatalogFile) -> String {
    t.get(&format!("catalog_file_{}", file.as_str())).to_owned()
}

pub async fn catalog(
    State(state): State<WebState>,
    Signed {
        visitor,
        who: staff,
    }: Signed<StaffMember>,
) -> Response {
    if let Err(e) =
        kopilka_service::staff::authorize(&staff, kopilka_domain::staff::Permission::EditCatalogue)
    {
        return failed(&state, visitor, &e.into());
    }
    let page = CatalogPage {
        page: Chrome::for_staff(&state, &visitor, &staff),
        notice: None,
        refused: None,
    };
    respond(visitor, &page, StatusCode::OK)
}

/// `GET /admin/catalog/{file}.csv`.
pub async fn export(
    State(state): State<WebState>,
    Signed {
        visitor,
        who: staff,
    }: Signed<StaffMember>,
    Path(file): Path<String>,
) -> Response {
    let Some(file) = file.strip_suffix(".csv").and_then(CatalogFile::parse) else {
        return crate::pages::not_found(&state, visitor, "not_found_title", None, true);
    };
    match catalog_export(state.kopilka.clone(), staff, file).await {
        Ok(response) => response,
        Err(e) => failed(&state, visitor, &e),
    }
}

/// `POST /admin/catalog/{file}`: the upload, read as it arrives (the form sends the CSRF
/// token before the file).
pub async fn import(
    State(state): State<WebState>,
    visitor: crate::session::Visitor,
    Path(file): Path<String>,
    mut multipart: Multipart,
) -> Response {
    let Some(file) = CatalogFile::parse(&file) else {
        return crate::pages::not_found(&state, visitor, "not_found_title", None, true);
    };
    // The form sends the token first, then the file.
    let csrf = match multipart.next_field().await {
        Ok(Some(field)) if field.name() == Some("csrf") => field.text().await.unwrap_or_default(),
        _ => String::new(),
    };
    let upload = match multipart.next_field().await {
        Ok(Some(field)) if field.name() == Some("file") => Some(field),
        _ => None,
    };
    let Signed {
        visitor,
        who: staff,
    } = match Signed::<StaffMember>::form(&state, visitor, &csrf).await {
        Ok(signed) => signed,
        Err(answer) => return answer,
    };
    let Some(mut field) = upload else {
        return to_page(
            &state,
            visitor,
            &staff,
            file,
            Err(vec![(0, "csv_empty".into())]),
        );
    };
    // The file's chunks go to the importing thread as they arrive.
    let (sender, receiver) = tokio::sync::mpsc::channel::<std::io::Result<Bytes>>(8);
    let chunks = Box::pin(futures_util::stream::unfold(
        receiver,
        |mut receiver| async move { receiver.recv().await.map(|chunk| (chunk, receiver)) },
    ));
    let reader = tokio_util::io::SyncIoBridge::new(tokio_util::io::StreamReader::new(chunks));
    let forward = async move {
        loop {
            let chunk = match field.chunk().await {
                Ok(Some(chunk)) => Ok(chunk),
                Ok(None) => break,
                Err(e) => Err(std::io::Error::other(e.to_string())),
            };
            let failed = chunk.is_err();
            if sender.send(chunk).await.is_err() || failed {
                break;
            }
        }
    };
    let (_, imported) = tokio::join!(forward, state.kopilka.import_catalog(&staff, file, reader));
    let outcome = match imported {
        Ok(rows) => Ok(rows),
        Err(ServiceError::Domain(DomainError::InvalidRows(rows))) => {
            Err(rows.into_iter().map(|r| (r.line, r.message)).collect())
        }
        Err(e) => return failed(&state, visitor, &e),
    };
    to_page(&state, visitor, &staff, file, outcome)
}

fn to_page(
    state: &WebState,
    visitor: crate::session::Visitor,
    staff: &StaffMember,
    file: CatalogFile,
    outcome: Result<u64, Vec<(u64, Message)>>,
) -> Response {
    let t = visitor.texts;
    let (notice, refused, status) = match outcome {
        Ok(rows) => (
            Some(
                t.render(
                    &Message::new("catalog_imported")
                        .with("file", file_label(&t, file))
                        .with("rows", rows),
                ),
            ),
            None,
            StatusCode::OK,
        ),
        Err(rows) => (
            None,
            Some((
                file_label(&t, file),
                rows.iter().map(|(line, m)| (*line, t.render(m))).collect(),
            )),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
    };
    let page = CatalogPage {
        page: Chrome::for_staff(state, &visitor, staff),
        notice,
        refused,
    };
    respond(visitor, &page, status)
}

/// The export as a response: products a page at a time as they are read, the rest whole.
pub async fn catalog_export(
    kopilka: kopilka_service::Kopilka,
    staff: StaffMember,
    file: CatalogFile,
) -> Result<Response, ServiceError> {
    let body = match file {
        CatalogFile::Products => {
            // The first page is read before answering, so that a refusal is an answer.
            let first = kopilka.export_products_page(&staff, None).await?;
            // (the page read already, where the next starts, whether the header is due);
            // `None` once the last page or a failure has been sent.
            let start = Some((Some(first), None::<String>, true));
            let pages = futures_util::stream::unfold(start, move |state| {
                let kopilka = kopilka.clone();
                let staff = staff.clone();
                async move {
                    let (page, after, header) = state?;
                    let page = match page {
                        Some(page) => page,
                        None => match kopilka.export_products_page(&staff, after).await {
                            Ok(page) => page,
                            Err(e) => {
                                tracing::error!(error = %e, "the products export failed midway");
                                return Some((Err(std::io::Error::other(e.to_string())), None));
                            }
                        },
                    };
                    if page.is_empty() && !header {
                        return None;
                    }
                    let full = page.len() >= kopilka_service::catalog_files::EXPORT_PAGE as usize;
                    let next = full.then(|| (None, page.last().map(|p| p.sku.clone()), false));
                    let chunk = products_csv(&page, header)
                        .map_err(|e| std::io::Error::other(e.to_string()));
                    Some((chunk, next))
                }
            });
            Body::from_stream(pages)
        }
        small => Body::from(kopilka.export_small_catalog(&staff, small).await?),
    };
    Ok(crate::csv_attachment(
        &format!("{}.csv", file.as_str()),
        body,
    ))
}
