// A small translation table: English and French. The language comes from navigator.language,
// and the switch in settings overrides it (kept in localStorage).
const TABLE = {
  en: {
    forYou: 'For You', following: 'Following', create: 'Create', search: 'Search', notifications: 'Notifications',
    settings: 'Settings', profile: 'Profile', home: 'Home', logIn: 'Log in', logOut: 'Log out', signUp: 'Sign up',
    like: 'Like', unlike: 'Unlike', comments: 'Comments', share: 'Share', remix: 'Remix', notInterested: 'Not interested',
    why: 'Why am I seeing this?', follow: 'Follow', unfollow: 'Unfollow', close: 'Close', send: 'Send',
    writeComment: 'Add a comment', noComments: 'No comments yet.', madeWithAi: 'Made with AI', verifiedBy: 'verified by',
    notVerified: 'provenance not verified', remixOf: 'Remix of', linkCopied: 'Link copied', tapForSound: 'Tap for sound',
    muted: 'Muted', sound: 'Sound on', emptyFeed: 'No videos yet.', loading: 'Loading…', signInToAct: 'Log in to do this.',
    prompt: 'Prompt', duration: 'Duration (seconds)', aspect: 'Aspect', withSound: 'With sound', image: 'Image (optional)',
    generate: 'Generate', generating: 'Generating…', queued: 'Waiting in the queue…', done: 'Done', failed: 'Failed',
    cancelled: 'Cancelled', caption: 'Caption', visibility: 'Visibility', post: 'Post', keepDraft: 'Keep as draft',
    discard: 'Discard', drafts: 'Drafts', quota: 'Free generations left today', credits: 'Credits', refused: 'Refused',
    public: 'Public', unlisted: 'Unlisted', private: 'Followers only', posted: 'Posted', remixing: 'Remixing',
    followers: 'Followers', followingCount: 'Following', videos: 'Videos', comment: 'Comment',
    username: 'Username', email: 'E-mail', password: 'Password', agreement: 'I accept the rules of this node',
    reason: 'Why do you want to join?', registrationsClosed: 'Registrations are closed on this node.',
    approvalRequired: 'A moderator reviews new accounts before they can log in.', pendingApproval: 'Your account waits for a moderator\u2019s approval.',
    displayName: 'Display name', bio: 'Bio', save: 'Save', saved: 'Saved', language: 'Language',
    searchPlaceholder: 'People, videos, tags', accounts: 'Accounts', statuses: 'Videos', hashtags: 'Tags', noResults: 'Nothing found.',
    feedSettings: 'Feed', personalised: 'Personalised For You', steering: 'What do you want more or less of?',
    src_public: 'A recent public video on this node and the servers it follows.', src_following: 'You follow this account.',
    src_remix_of_liked: 'A remix of a video you liked.',
    more: 'More of', less: 'Less of',
    parental: 'Parental controls', yourGuardian: 'Your guardian:', linkTeen: 'Be the guardian of (username)',
    sendRequest: 'Send the request', requestSent: 'Request sent', requestPending: 'Waiting for an answer from',
    wantsToBeGuardian: 'Wants to be your guardian:', asksYouToBeGuardian: 'Asks you to be their guardian:',
    accept: 'Accept', decline: 'Decline', withdraw: 'Withdraw', controlsOf: 'Controls of', yes: 'Yes', no: 'No',
    dailyFeedVideos: 'Feed videos per day (empty: no limit)', directMessages: 'Direct messages from', cameo: 'Cameo by',
    generationsPerDay: 'Generations per day (empty: the node\u2019s quota)',
    who_nobody: 'Nobody', who_mutuals: 'Mutual followers', who_everyone: 'Everyone',
    n_favourite: 'liked your video', n_reblog: 'shared your video', n_follow: 'followed you', n_mention: 'mentioned you',
    n_status: 'posted', n_follow_request: 'asked to follow you', n_update: 'edited a video', 'n_admin.sign_up': 'signed up',
    dayEnd: 'That\u2019s all for today', dayEndMore: 'Your feed rests until tomorrow. See you then!',
    noNotifications: 'No notifications yet.', video: 'Video', back: 'Back',
  },
  fr: {
    forYou: 'Pour toi', following: 'Abonnements', create: 'Créer', search: 'Rechercher', notifications: 'Notifications',
    settings: 'Réglages', profile: 'Profil', home: 'Accueil', logIn: 'Se connecter', logOut: 'Se déconnecter', signUp: 'S\u2019inscrire',
    like: 'J\u2019aime', unlike: 'Je n\u2019aime plus', comments: 'Commentaires', share: 'Partager', remix: 'Remixer', notInterested: 'Pas intéressé',
    why: 'Pourquoi je vois ça ?', follow: 'Suivre', unfollow: 'Ne plus suivre', close: 'Fermer', send: 'Envoyer',
    writeComment: 'Ajouter un commentaire', noComments: 'Pas encore de commentaire.', madeWithAi: 'Fait avec l\u2019IA', verifiedBy: 'vérifié par',
    notVerified: 'provenance non vérifiée', remixOf: 'Remix de', linkCopied: 'Lien copié', tapForSound: 'Touchez pour le son',
    muted: 'Son coupé', sound: 'Son activé', emptyFeed: 'Pas encore de vidéo.', loading: 'Chargement…', signInToAct: 'Connectez-vous pour faire ceci.',
    prompt: 'Description', duration: 'Durée (secondes)', aspect: 'Format', withSound: 'Avec le son', image: 'Image (facultative)',
    generate: 'Générer', generating: 'Génération…', queued: 'En file d\u2019attente…', done: 'Terminé', failed: 'Échec',
    cancelled: 'Annulé', caption: 'Légende', visibility: 'Visibilité', post: 'Publier', keepDraft: 'Garder en brouillon',
    discard: 'Jeter', drafts: 'Brouillons', quota: 'Générations gratuites restantes aujourd\u2019hui', credits: 'Crédits', refused: 'Refusé',
    public: 'Public', unlisted: 'Non listé', private: 'Abonnés seulement', posted: 'Publié', remixing: 'Remix de',
    followers: 'Abonnés', followingCount: 'Abonnements', videos: 'Vidéos', comment: 'Commenter',
    username: 'Nom d\u2019utilisateur', email: 'Courriel', password: 'Mot de passe', agreement: 'J\u2019accepte les règles de ce nœud',
    reason: 'Pourquoi voulez-vous nous rejoindre ?', registrationsClosed: 'Les inscriptions sont fermées sur ce nœud.',
    approvalRequired: 'Un modérateur vérifie les nouveaux comptes avant leur première connexion.', pendingApproval: 'Votre compte attend l\u2019accord d\u2019un modérateur.',
    displayName: 'Nom affiché', bio: 'Bio', save: 'Enregistrer', saved: 'Enregistré', language: 'Langue',
    searchPlaceholder: 'Personnes, vidéos, tags', accounts: 'Comptes', statuses: 'Vidéos', hashtags: 'Tags', noResults: 'Aucun résultat.',
    feedSettings: 'Fil', personalised: '« Pour toi » personnalisé', steering: 'De quoi voulez-vous plus ou moins ?',
    src_public: 'Une vidéo publique récente de ce nœud et des serveurs qu\u2019il suit.', src_following: 'Vous suivez ce compte.',
    src_remix_of_liked: 'Un remix d\u2019une vidéo que vous avez aimée.',
    more: 'Plus de', less: 'Moins de',
    parental: 'Contrôle parental', yourGuardian: 'Votre responsable :', linkTeen: 'Devenir responsable de (nom d\u2019utilisateur)',
    sendRequest: 'Envoyer la demande', requestSent: 'Demande envoyée', requestPending: 'En attente d\u2019une réponse de',
    wantsToBeGuardian: 'Veut devenir votre responsable :', asksYouToBeGuardian: 'Vous demande d\u2019être son responsable :',
    accept: 'Accepter', decline: 'Refuser', withdraw: 'Retirer', controlsOf: 'Réglages de', yes: 'Oui', no: 'Non',
    dailyFeedVideos: 'Vidéos du fil par jour (vide : sans limite)', directMessages: 'Messages privés de', cameo: 'Caméo par',
    generationsPerDay: 'Générations par jour (vide : le quota du nœud)',
    who_nobody: 'Personne', who_mutuals: 'Abonnés mutuels', who_everyone: 'Tout le monde',
    n_favourite: 'a aimé votre vidéo', n_reblog: 'a partagé votre vidéo', n_follow: 'vous suit', n_mention: 'vous a mentionné',
    n_status: 'a publié', n_follow_request: 'demande à vous suivre', n_update: 'a modifié une vidéo', 'n_admin.sign_up': 's\u2019est inscrit',
    dayEnd: 'C\u2019est tout pour aujourd\u2019hui', dayEndMore: 'Votre fil se repose jusqu\u2019à demain. À bientôt !',
    noNotifications: 'Pas encore de notification.', video: 'Vidéo', back: 'Retour',
  },
};

export const LANGUAGES = { en: 'English', fr: 'Français' };

export function pickLanguage() {
  const saved = localStorage.getItem('vitascope.lang');
  if (saved && TABLE[saved]) return saved;
  const nav = (navigator.language || 'en').slice(0, 2).toLowerCase();
  return TABLE[nav] ? nav : 'en';
}

let current = pickLanguage();

export function setLanguage(lang) {
  current = TABLE[lang] ? lang : 'en';
  localStorage.setItem('vitascope.lang', current);
  document.documentElement.lang = current;
}

export function lang() { return current; }

export function t(key) { return TABLE[current][key] ?? TABLE.en[key] ?? key; }
