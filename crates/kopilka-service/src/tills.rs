//! Till keys: a store's tills are opened (the key shown once, only its hash kept), listed and
//! revoked, from the command line or by a store manager in the back office.

use crate::staff::Caller;
use crate::{crypto, Kopilka, ServiceResult};
use kopilka_domain::earning::{TillId, TillKind};
use kopilka_domain::member::StoreId;
use kopilka_domain::staff::Permission;
use kopilka_domain::DomainError;
use kopilka_store::{StoreError, TillListing};

impl Kopilka {
    /// Opens a till for a store; the key is returned once and only its hash is kept.
    pub async fn create_till(
        &self,
        by: Caller<'_>,
        store: StoreId,
        kind: TillKind,
    ) -> ServiceResult<(TillListing, String)> {
        let actor = by.authorize(Permission::ManageTills)?;
        let at = self.now();
        let key = crypto::new_token("kpt");
        let audit = self.audit_entry(
            actor,
            "till.create",
            "till:",
            serde_json::json!({ "store_id": store, "kind": kind.as_str() }).to_string(),
        );
        let till = match self
            .store()
            .create_till(store, kind, &crypto::token_hash(&key), at, audit)
            .await
        {
            Err(StoreError::NotFound) => {
                return Err(DomainError::field("store_id", "store_unknown").into())
            }
            other => other?,
        };
        let listing = TillListing {
            till,
            created_at: at,
            revoked_at: None,
        };
        Ok((listing, key))
    }

    /// Every till, oldest first; only one store's when `store` is given.
    pub async fn tills(
        &self,
        by: Caller<'_>,
        store: Option<StoreId>,
    ) -> ServiceResult<Vec<TillListing>> {
        by.authorize(Permission::ManageTills)?;
        let mut tills = self.store().tills().await?;
        if let Some(store) = store {
            tills.retain(|t| t.till.store_id == store);
        }
        Ok(tills)
    }

    /// Revokes a till's key: it stops working on every node once their caches of it lapse
    /// (`till_key_cache`, a second by default).
    pub async fn revoke_till(&self, by: Caller<'_>, id: TillId) -> ServiceResult<()> {
        let actor = by.authorize(Permission::ManageTills)?;
        let audit = self.audit_entry(actor, "till.revoke", &format!("till:{id}"), "{}".into());
        if self.store().revoke_till(id, self.now(), audit).await? {
            Ok(())
        } else {
            Err(DomainError::NotFound("till").into())
        }
    }
}
