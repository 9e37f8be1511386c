//! Load shedding: past a number of API requests in flight, new ones are refused at once with
//! 503 and `Retry-After` instead of queueing. A till that is refused keeps the receipt and
//! uploads it later (offline receipts earn as of their own time); a queue would only make
//! every till wait and the server's memory grow.

use crate::error::ApiError;
use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use std::sync::Arc;
use tokio::sync::Semaphore;

pub async fn shed(State(limit): State<Arc<Semaphore>>, request: Request, next: Next) -> Response {
    let Ok(_permit) = limit.try_acquire_owned() else {
        return ApiError::new(crate::error::ProblemCode::Overloaded)
            .retry_after(1)
            .into_response();
    };
    next.run(request).await
}
